package leak

// Byte classes looked up in one table by the scanner's per-byte loops.
const (
	cAlnum    = 1 << iota // 0-9 a-z A-Z
	cB64                  // base64 in either alphabet: alnum + / - _
	cKey                  // a key name: alnum _ - . $ [ ]
	cValueEnd             // ends an unquoted key/value value
	cKVMark               // starts a key/value look-up: < = :
	cNumStart             // starts a number: 0-9 -
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		if alnum {
			t[c] |= cAlnum | cB64 | cKey
		}
		switch b {
		case '+', '/', '-', '_':
			t[c] |= cB64
		}
		switch b {
		case '_', '-', '.', '$', '[', ']':
			t[c] |= cKey
		}
		switch b {
		case '&', ';', ',', ' ', '\t', '\r', '\n', '"', '\'', '<', '>', '}', ']', ')', '\\':
			t[c] |= cValueEnd
		}
		switch b {
		case '<', '=', ':':
			t[c] |= cKVMark
		}
		if b >= '0' && b <= '9' || b == '-' {
			t[c] |= cNumStart
		}
	}
	return t
}()

func isAlnum(c byte) bool { return charClass[c]&cAlnum != 0 }

func isB64Char(c byte) bool { return charClass[c]&cB64 != 0 }

func isKeyChar(c byte) bool { return charClass[c]&cKey != 0 }

func isValueEnd(c byte) bool { return charClass[c]&cValueEnd != 0 }
