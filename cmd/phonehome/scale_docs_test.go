package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/pkg/batch"
)

// The batch/v1 Job fields docs/scale/job.yaml uses, with the names and
// types of the Kubernetes API (k8s.io/api/batch/v1, core/v1). Decoding
// with KnownFields rejects a misspelt or misplaced key, as the API server
// does in strict mode; the checks below are the API's validation rules for
// Jobs that a manifest of this shape can break. This stands in for
// kubeconform, which needs to download its schemas, and keeps k8s.io/api
// (and its dependencies) out of go.mod.
type k8sJob struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   k8sMeta    `yaml:"metadata"`
	Spec       k8sJobSpec `yaml:"spec"`
	Status     *struct{}  `yaml:"status"`
}

type k8sMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type k8sJobSpec struct {
	CompletionMode       string `yaml:"completionMode"`
	Completions          *int   `yaml:"completions"`
	Parallelism          *int   `yaml:"parallelism"`
	BackoffLimit         *int   `yaml:"backoffLimit"`
	BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
	MaxFailedIndexes     *int   `yaml:"maxFailedIndexes"`
	PodReplacementPolicy string `yaml:"podReplacementPolicy"`
	PodFailurePolicy     *struct {
		Rules []struct {
			Action      string `yaml:"action"`
			OnExitCodes *struct {
				ContainerName string `yaml:"containerName"`
				Operator      string `yaml:"operator"`
				Values        []int  `yaml:"values"`
			} `yaml:"onExitCodes"`
		} `yaml:"rules"`
	} `yaml:"podFailurePolicy"`
	ActiveDeadlineSeconds   *int `yaml:"activeDeadlineSeconds"`
	TTLSecondsAfterFinished *int `yaml:"ttlSecondsAfterFinished"`
	Template                struct {
		Metadata k8sMeta    `yaml:"metadata"`
		Spec     k8sPodSpec `yaml:"spec"`
	} `yaml:"template"`
}

type k8sPodSpec struct {
	RestartPolicy   string `yaml:"restartPolicy"`
	SecurityContext *struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
		FSGroup      *int  `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	Containers []k8sContainer `yaml:"containers"`
	Volumes    []struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"persistentVolumeClaim"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		EmptyDir *struct {
			SizeLimit string `yaml:"sizeLimit"`
		} `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// checkJob returns the rule violations of a Job manifest.
func checkJob(src []byte) []string {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var j k8sJob
	if err := dec.Decode(&j); err != nil {
		return []string{"decode: " + err.Error()}
	}
	var bad []string
	fail := func(f string, a ...any) { bad = append(bad, fmt.Sprintf(f, a...)) }
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		fail("apiVersion/kind %s/%s, want batch/v1 Job", j.APIVersion, j.Kind)
	}
	if len(j.Metadata.Name) > 63 || !dns1123.MatchString(j.Metadata.Name) {
		fail("metadata.name %q is not a DNS-1123 label", j.Metadata.Name)
	}
	s := j.Spec
	if s.CompletionMode != "Indexed" {
		fail("spec.completionMode %q, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || *s.Completions < 1 {
		fail("spec.completions must be set (>= 1) in Indexed mode")
	}
	if s.Parallelism != nil && (*s.Parallelism < 0 || s.Completions != nil && *s.Parallelism > *s.Completions) {
		fail("spec.parallelism %d outside 0..completions", *s.Parallelism)
	}
	if s.BackoffLimitPerIndex != nil && s.CompletionMode != "Indexed" {
		fail("backoffLimitPerIndex needs completionMode Indexed")
	}
	if s.PodReplacementPolicy != "" && !slices.Contains([]string{"Failed", "TerminatingOrFailed"}, s.PodReplacementPolicy) {
		fail("podReplacementPolicy %q", s.PodReplacementPolicy)
	}
	pod := s.Template.Spec
	if !slices.Contains([]string{"Never", "OnFailure"}, pod.RestartPolicy) {
		fail("template restartPolicy %q: a Job needs Never or OnFailure", pod.RestartPolicy)
	}
	if p := s.PodFailurePolicy; p != nil {
		if pod.RestartPolicy != "Never" {
			fail("podFailurePolicy needs restartPolicy Never")
		}
		for _, r := range p.Rules {
			if !slices.Contains([]string{"FailJob", "FailIndex", "Ignore", "Count"}, r.Action) {
				fail("podFailurePolicy action %q", r.Action)
			}
			if r.Action == "FailIndex" && s.BackoffLimitPerIndex == nil {
				fail("action FailIndex needs backoffLimitPerIndex")
			}
			if e := r.OnExitCodes; e != nil {
				if !slices.Contains([]string{"In", "NotIn"}, e.Operator) || len(e.Values) == 0 || slices.Contains(e.Values, 0) && e.Operator == "In" {
					fail("onExitCodes operator %q values %v", e.Operator, e.Values)
				}
			}
		}
	}
	if len(pod.Containers) == 0 {
		fail("no container")
	}
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		n := 0
		for _, set := range []bool{v.PersistentVolumeClaim != nil, v.ConfigMap != nil, v.EmptyDir != nil} {
			if set {
				n++
			}
		}
		if n != 1 || !dns1123.MatchString(v.Name) || vols[v.Name] {
			fail("volume %q: one source and a unique DNS-1123 name", v.Name)
		}
		vols[v.Name] = true
	}
	for _, c := range pod.Containers {
		if c.Name == "" || c.Image == "" {
			fail("container needs a name and an image")
		}
		env := map[string]bool{}
		for _, e := range c.Env {
			env[e.Name] = true
		}
		for _, a := range c.Args {
			for _, m := range regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`).FindAllStringSubmatch(a, -1) {
				if !env[m[1]] {
					fail("arg %q: $(%s) is not in the container's env, so it does not expand", a, m[1])
				}
			}
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				fail("volumeMount %q names no volume", m.Name)
			}
		}
	}
	return bad
}

// TestJobManifest validates docs/scale/job.yaml and checks that its
// phonehome arguments fit the Job: --shard I/N with I the completion
// index and N the completions, flags the CLI knows.
func TestJobManifest(t *testing.T) {
	src, err := os.ReadFile("../../docs/scale/job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range checkJob(src) {
		t.Error(e)
	}
	var j k8sJob
	yaml.Unmarshal(src, &j)
	args := j.Spec.Template.Spec.Containers[0].Args
	i := slices.Index(args, "--shard")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("no --shard in %v", args)
	}
	idx, n, _ := strings.Cut(args[i+1], "/")
	if idx != "$(JOB_COMPLETION_INDEX)" || n != strconv.Itoa(*j.Spec.Completions) {
		t.Errorf("--shard %s: want $(JOB_COMPLETION_INDEX)/%d", args[i+1], *j.Spec.Completions)
	}
	// Every shard's argument is valid, and shard names do not collide.
	names := map[string]bool{}
	for k := range *j.Spec.Completions {
		sh, err := batch.ParseShard(strconv.Itoa(k) + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		names[batch.IndexName(sh)] = true
	}
	if len(names) != *j.Spec.Completions {
		t.Errorf("index names collide: %v", names)
	}
	// The CLI accepts the arguments: with the volumes absent the run fails
	// on the missing devices file or captures, not on a flag.
	run := slices.Clone(args)
	run[i+1] = "0/" + n
	_, errs, code := runCLI(t, run...)
	if code != exitUsage || strings.Contains(errs, "flag provided but not defined") || strings.Contains(errs, "--shard") {
		t.Errorf("phonehome %v: exit %d, %s", run, code, errs)
	}
	// The image's entrypoint is phonehome, so args start with the command.
	df, err := os.ReadFile("../../docs/scale/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(df, []byte(`ENTRYPOINT ["/phonehome"]`)) || args[0] != "analyze" {
		t.Error("Dockerfile entrypoint and Job args do not fit")
	}
}

// TestJobManifestChecks: the checker catches what it is for.
func TestJobManifestChecks(t *testing.T) {
	good, err := os.ReadFile("../../docs/scale/job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ old, new, want string }{
		{"completionMode: Indexed", "completionMode: NonIndexed", "completionMode"},
		{"restartPolicy: Never", "restartPolicy: Always", "restartPolicy"},
		{"parallelism: 4", "parallelism: 9", "parallelism"},
		{"completionMode: Indexed", "completionsMode: Indexed", "decode"},
		{"- name: tmp\n              mountPath", "- name: scratch\n              mountPath", "names no volume"},
		{"- name: JOB_COMPLETION_INDEX", "- name: JOB_INDEX", "does not expand"},
		{"  backoffLimitPerIndex: 3\n", "", "FailIndex needs backoffLimitPerIndex"},
	}
	for _, tc := range cases {
		if !bytes.Contains(good, []byte(tc.old)) {
			t.Fatalf("%q not in job.yaml", tc.old)
		}
		bad := checkJob(bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1))
		if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("%q -> %q: got %v, want a complaint with %q", tc.old, tc.new, bad, tc.want)
		}
	}
}
