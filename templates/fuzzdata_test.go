package templates_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// FuzzRender's variables: a small encoding of values of every type a YAML
// document decodes to, so that the fuzzer reaches nested lists and maps
// without writing YAML.

// fuzzVars are the variable names the shipped menus and templates (and
// labMenu) read; the fuzzer picks them by index so that it does not have
// to guess their spelling.
var fuzzVars = []string{
	"locale", "keyboard", "timezone", "domain", "root_password_hash", "username",
	"user_password_hash", "ssh_authorized_keys", "install_disk", "packages",
	"debian_mirror", "debian_proxy", "debian_security_mirror", "ubuntu_mirror",
	"windows_locale", "windows_timezone", "windows_image_index", "windows_image_name",
	"windows_product_key", "windows_admin_user", "windows_admin_password",
	"fedora_mirror", "fedora_release", "ubuntu_casper", "ubuntu_iso",
	"title", "mirror", "initrd", "args", "chain_url",
}

// Limits that keep one input's work small: the sizes of the fuzzed
// arguments, how deep values nest, how many items a list or map holds,
// and how long a string the "long string" tag may build.
const (
	maxInput   = 4 << 10
	maxDepth   = 4
	maxItems   = 8
	maxLong    = 16 << 10
	maxEntries = 64
)

// Value tags of the vars encoding (see decoder.value).
const (
	tagNil = iota
	tagBool
	tagInt
	tagFloat
	tagUint
	tagString
	tagLong
	tagList
	tagMap
	tagAnyMap
	numTags
)

// decoder turns the fuzzer's bytes into variables at the three levels a
// config sets them (machines.yaml's vars, a group's, a machine's), with
// the value types a YAML document decodes to: nil, bool, int, float64,
// uint64, string (any bytes: YAML holds them as !!binary), []any,
// map[string]any and map[any]any. Running out of bytes yields zeros.
type decoder struct{ b []byte }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], d.b)
	d.b = d.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// str reads a length byte and that many bytes.
func (d *decoder) str() string {
	n := min(int(d.byte()), len(d.b))
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) value(depth int) any {
	tag := d.byte() % numTags
	if depth >= maxDepth && tag >= tagList {
		tag = tagString
	}
	switch tag {
	case tagNil:
		return nil
	case tagBool:
		return d.byte()&1 == 1
	case tagInt:
		return int(int64(d.uint64()))
	case tagFloat:
		return math.Float64frombits(d.uint64())
	case tagUint:
		return d.uint64()
	case tagString:
		return d.str()
	case tagLong:
		n := int(binary.LittleEndian.Uint16([]byte{d.byte(), d.byte()}))
		s := d.str()
		if s == "" {
			s = "x"
		}
		return strings.Repeat(s, min(n, maxLong/len(s)))
	case tagList:
		l := make([]any, int(d.byte())%(maxItems+1))
		for i := range l {
			l[i] = d.value(depth + 1)
		}
		return l
	case tagMap:
		m := map[string]any{}
		for range int(d.byte()) % (maxItems + 1) {
			m[d.str()] = d.value(depth + 1)
		}
		return m
	default: // tagAnyMap: what YAML gives for a mapping with a key that is not a string
		m := map[any]any{}
		for range int(d.byte()) % (maxItems + 1) {
			m[int(d.byte())] = d.value(depth + 1)
		}
		return m
	}
}

// vars decodes entries of level byte, key, value until the bytes run out.
// A key byte below len(fuzzVars) names a known variable, anything else is
// followed by an arbitrary name.
func (d *decoder) vars() [3]map[string]any {
	out := [3]map[string]any{{}, {}, {}}
	for i := 0; len(d.b) > 0 && i < maxEntries; i++ {
		level := d.byte() % 3
		key := ""
		if k := int(d.byte()); k < len(fuzzVars) {
			key = fuzzVars[k]
		} else {
			key = d.str()
		}
		out[level][key] = d.value(0)
	}
	return out
}

// encodeVars is decoder.vars backwards, for readable seeds: level 0, 1 or 2
// maps variable names to values (strings shorter than 256 bytes).
func encodeVars(levels ...map[string]any) []byte {
	var b []byte
	var value func(v any)
	str := func(s string) {
		if len(s) > 255 {
			panic("seed string too long: " + s)
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	value = func(v any) {
		switch v := v.(type) {
		case nil:
			b = append(b, tagNil)
		case bool:
			b = append(b, tagBool, 0)
			if v {
				b[len(b)-1] = 1
			}
		case int:
			b = binary.LittleEndian.AppendUint64(append(b, tagInt), uint64(v))
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v))
		case string:
			b = append(b, tagString)
			str(v)
		case []any:
			b = append(b, tagList, byte(len(v)))
			for _, e := range v {
				value(e)
			}
		case map[string]any:
			b = append(b, tagMap, byte(len(v)))
			for _, k := range sortedKeys(v) {
				str(k)
				value(v[k])
			}
		default:
			panic(fmt.Sprintf("seed value %T", v))
		}
	}
	for level, vars := range levels {
		for _, k := range sortedKeys(vars) {
			b = append(b, byte(level))
			if i := slices.Index(fuzzVars, k); i >= 0 {
				b = append(b, byte(i))
			} else {
				b = append(b, 0xff)
				str(k)
			}
			value(vars[k])
		}
	}
	return b
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
