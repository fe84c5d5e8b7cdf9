package tftpboot

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRequest(t *testing.T) {
	long := strings.Repeat("a", 600)
	tests := map[string]struct {
		in      string
		want    request
		wantErr error
	}{
		"plain rrq": {in: "\x00\x01pxelinux.0\x00octet\x00",
			want: request{op: opRRQ, name: "pxelinux.0", mode: "octet"}},
		"mode in capitals": {in: "\x00\x01a\x00OCTET\x00",
			want: request{op: opRRQ, name: "a", mode: "octet"}},
		"options, names kept and lowered": {in: "\x00\x01a\x00octet\x00BlkSize\x001468\x00tsize\x000\x00windowsize\x004\x00",
			want: request{op: opRRQ, name: "a", mode: "octet", opts: []option{
				{"BlkSize", "blksize", "1468"}, {"tsize", "tsize", "0"}, {"windowsize", "windowsize", "4"}}}},
		"wrq": {in: "\x00\x02up\x00netascii\x00",
			want: request{op: opWRQ, name: "up", mode: "netascii"}},
		"option without value ignored": {in: "\x00\x01a\x00octet\x00blksize\x00",
			want: request{op: opRRQ, name: "a", mode: "octet"}},
		"value not terminated ignored": {in: "\x00\x01a\x00octet\x00blksize\x001468",
			want: request{op: opRRQ, name: "a", mode: "octet"}},
		"padding ignored": {in: "\x00\x01a\x00octet\x00\x00\x00\x00\x00tsize\x000\x00",
			want: request{op: opRRQ, name: "a", mode: "octet", opts: []option{{"tsize", "tsize", "0"}}}},
		"empty name": {in: "\x00\x01\x00octet\x00",
			want: request{op: opRRQ, name: "", mode: "octet"}},
		"long name kept whole": {in: "\x00\x01" + long + "\x00octet\x00",
			want: request{op: opRRQ, name: long, mode: "octet"}},
		"too short":       {in: "\x00\x01a", wantErr: errShortPacket},
		"empty":           {in: "", wantErr: errShortPacket},
		"ack":             {in: "\x00\x04\x00\x01", wantErr: errNotRequest},
		"opcode 0":        {in: "\x00\x00a\x00octet\x00", wantErr: errNotRequest},
		"opcode 7":        {in: "\x00\x07a\x00octet\x00", wantErr: errNotRequest},
		"name not ended":  {in: "\x00\x01pxelinux.0", wantErr: errNoName},
		"mode not ended":  {in: "\x00\x01a\x00octet", wantErr: errNoMode},
		"no mode":         {in: "\x00\x01abc\x00", wantErr: errNoMode},
		"zeros of a scan": {in: strings.Repeat("\x00", 8000), wantErr: errNotRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseRequest([]byte(tc.in))
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(request{}, option{})); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequestOptionCap(t *testing.T) {
	p := "\x00\x01a\x00octet\x00" + strings.Repeat("x\x00y\x00", 5000)
	got, err := parseRequest([]byte(p))
	if err != nil || len(got.opts) != maxOptions {
		t.Errorf("got %d options, %v; want %d", len(got.opts), err, maxOptions)
	}
}

func TestNegotiate(t *testing.T) {
	lim := limits{blksize: 1468, window: 16}
	opt := func(kv ...string) []option {
		var o []option
		for i := 0; i+1 < len(kv); i += 2 {
			o = append(o, option{name: kv[i], key: strings.ToLower(kv[i]), value: kv[i+1]})
		}
		return o
	}
	tests := map[string]struct {
		opts []option
		size int64
		lim  limits
		want grant
	}{
		"none": {want: grant{blksize: 512, window: 1}},
		"firmware asks": {opts: opt("tsize", "0", "blksize", "1468", "windowsize", "4"), size: 173792,
			want: grant{blksize: 1468, window: 4, oack: opt("tsize", "173792", "blksize", "1468", "windowsize", "4")}},
		"blksize clamped to the MTU": {opts: opt("blksize", "8192"),
			want: grant{blksize: 1468, window: 1, oack: opt("blksize", "1468")}},
		"blksize 8 granted": {opts: opt("blksize", "8"),
			want: grant{blksize: 8, window: 1, oack: opt("blksize", "8")}},
		"blksize 65464 on loopback": {opts: opt("blksize", "65464"), lim: limits{blksize: 65464, window: 1},
			want: grant{blksize: 65464, window: 1, oack: opt("blksize", "65464")}},
		"blksize out of range":   {opts: opt("blksize", "7", "blksize", "65465"), want: grant{blksize: 512, window: 1}},
		"blksize first counts":   {opts: opt("blksize", "70000", "blksize", "1024"), want: grant{blksize: 512, window: 1}},
		"blksize with a sign":    {opts: opt("blksize", "+1024"), want: grant{blksize: 512, window: 1}},
		"blksize with a space":   {opts: opt("blksize", " 1024"), want: grant{blksize: 512, window: 1}},
		"tsize of an empty file": {opts: opt("tsize", "0"), size: 0, want: grant{blksize: 512, window: 1}},
		"timeout": {opts: opt("timeout", "3"),
			want: grant{blksize: 512, window: 1, timeout: 3 * time.Second, oack: opt("timeout", "3")}},
		"timeout bounds": {opts: opt("timeout", "0", "Timeout", "256"), want: grant{blksize: 512, window: 1}},
		"windowsize capped": {opts: opt("windowsize", "64"),
			want: grant{blksize: 512, window: 16, oack: opt("windowsize", "16")}},
		"windowsize 1 asked": {opts: opt("windowsize", "1"),
			want: grant{blksize: 512, window: 1, oack: opt("windowsize", "1")}},
		"windowsize refused by cap 1": {opts: opt("windowsize", "4"), lim: limits{blksize: 1468, window: 1},
			want: grant{blksize: 512, window: 1}},
		"windowsize bounds": {opts: opt("windowsize", "0", "WINDOWSIZE", "65536"), want: grant{blksize: 512, window: 1}},
		"case echoed": {opts: opt("BLKSIZE", "1024", "TSize", "0"), size: 9,
			want: grant{blksize: 1024, window: 1, oack: opt("BLKSIZE", "1024", "TSize", "9")}},
		"unknown ignored": {opts: opt("rollover", "0", "multicast", ""), want: grant{blksize: 512, window: 1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := lim
			if tc.lim.blksize != 0 {
				l = tc.lim
			}
			got := negotiate(tc.opts, tc.size, l)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(grant{}, option{})); diff != "" {
				t.Errorf("grant (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	tests := map[string]struct {
		in   string
		want reply
		ok   bool
	}{
		"ack":                  {"\x00\x04\x12\x34", reply{op: opACK, num: 0x1234}, true},
		"ack with trailing":    {"\x00\x04\x00\x01junk", reply{op: opACK, num: 1}, true},
		"error":                {"\x00\x05\x00\x08User aborted\x00", reply{op: opERROR, num: 8, text: "User aborted"}, true},
		"error not ended":      {"\x00\x05\x00\x01oops", reply{op: opERROR, num: 1, text: "oops"}, true},
		"error without text":   {"\x00\x05\x00\x00", reply{op: opERROR, num: 0, text: ""}, true},
		"short":                {"\x00\x04\x00", reply{}, false},
		"data from a confused": {"\x00\x03\x00\x01xx", reply{op: opDATA, num: 1}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := parseReply([]byte(tc.in))
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(reply{})); diff != "" || ok != tc.ok {
				t.Errorf("ok %v, want %v; reply (-want +got):\n%s", ok, tc.ok, diff)
			}
		})
	}
}

// FuzzParseRequest: no datagram panics the request parser, and what it
// accepts is a read or write request whose fields hold no NUL and whose
// options are at most maxOptions, each negotiable without panic.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		"\x00\x01pxelinux.0\x00octet\x00",
		"\x00\x01snponly.efi\x00octet\x00tsize\x000\x00blksize\x001468\x00windowsize\x004\x00",
		"\x00\x02up\x00netascii\x00",
		"\x00\x01a\x00octet\x00blksize\x00",
		"\x00\x01\x00\x00", "\x00\x04\x00\x01", "", "\x00",
		"\x00\x01a\x00octet\x00TIMEOUT\x00255\x00BLKSIZE\x0065464\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		req, err := parseRequest(p)
		if err != nil {
			return
		}
		if req.op != opRRQ && req.op != opWRQ {
			t.Fatalf("accepted opcode %d", req.op)
		}
		if strings.ContainsRune(req.name, 0) || strings.ContainsRune(req.mode, 0) || len(req.opts) > maxOptions {
			t.Fatalf("bad request %+v", req)
		}
		g := negotiate(req.opts, int64(len(p)), limits{blksize: 1468, window: 16})
		if g.blksize < minBlksize || g.blksize > 1468 || g.window < 1 || g.window > 16 {
			t.Fatalf("negotiated %+v from %q", g, p)
		}
		if len(appendOACK(nil, g.oack)) > 2+len(p)+20*maxOptions {
			t.Fatalf("OACK larger than the request allows")
		}
	})
}
