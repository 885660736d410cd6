package main

import (
	"fmt"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
)

// progress draws a bar on stderr when it is a terminal. The bar is the
// library's; rate and time left are ours (rateMeter), because the bar's own
// estimate starts from the first burst of buffered reads and so promises
// terabytes per second and then a time left that keeps growing.
type progress struct {
	bar   *progressbar.ProgressBar
	meter rateMeter
	file  string
	total int64
	done  int64 // bytes of the files already finished
	sizes map[string]int64
	start time.Time
}

func newProgress(c *cli.Context, inputs []string) *progress {
	if c.Bool("no-progress") {
		return nil
	}
	f, ok := c.App.ErrWriter.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	p := &progress{sizes: map[string]int64{}, start: time.Now()}
	for _, in := range inputs {
		if st, err := os.Stat(in); err == nil && in != "-" {
			p.sizes[in] = st.Size()
			p.total += st.Size()
		}
	}
	if p.total < 64<<20 {
		return nil
	}
	p.bar = progressbar.NewOptions64(p.total, progressbar.OptionSetWriter(f),
		progressbar.OptionSetPredictTime(false), progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription("reading"), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
	return p
}

func (p *progress) update(file string, read, size int64) {
	if file != p.file {
		if p.file != "" {
			p.done += p.sizes[p.file]
		}
		p.file = file
	}
	if read > size && size > 0 {
		read = size // compressed input: decompressed offsets run ahead
	}
	pos := p.done + read
	rate, left, ok := p.meter.add(time.Since(p.start), pos, p.total)
	desc := fmt.Sprintf("%s/%s", sizeString(uint64(pos)), sizeString(uint64(p.total)))
	if ok {
		desc += fmt.Sprintf("  %s/s  %s left", sizeString(uint64(rate)), left.Round(time.Second))
	}
	p.bar.Describe(desc)
	p.bar.Set64(pos)
}

func (p *progress) finish() { p.bar.Finish() }

// rateMeter estimates a reading rate and the time left from (elapsed,
// position) samples. The rate is measured over a sliding window of the
// last rateWindow of samples, never from the start (the first read of a
// file is a burst served from buffers); nothing is said in the first
// rateWarmup; the time left moves towards a new estimate only gradually,
// so it settles instead of jumping with each sample.
type rateMeter struct {
	samples []rateSample
	left    time.Duration
}

type rateSample struct {
	at  time.Duration
	pos int64
}

const (
	rateWindow = 5 * time.Second
	rateWarmup = 2 * time.Second
)

// add records a sample and returns the rate in bytes per second and the
// time left; ok is false until there is enough to say.
func (m *rateMeter) add(at time.Duration, pos, total int64) (rate float64, left time.Duration, ok bool) {
	m.samples = append(m.samples, rateSample{at, pos})
	for len(m.samples) > 2 && at-m.samples[1].at >= rateWindow {
		m.samples = m.samples[1:]
	}
	first := m.samples[0]
	span := at - first.at
	if at < rateWarmup || span < time.Second || pos <= first.pos {
		return 0, 0, false
	}
	rate = float64(pos-first.pos) / span.Seconds()
	estimate := time.Duration(float64(max(total-pos, 0)) / rate * float64(time.Second))
	if m.left == 0 {
		m.left = estimate
	} else {
		m.left += (estimate - m.left) / 4 // exponential smoothing

	}
	return rate, m.left, true
}

// sizeString prints n bytes with a binary unit: 512 B, 1.5 MiB.
func sizeString(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
