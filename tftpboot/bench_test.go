package tftpboot

import (
	"testing"
)

// BenchmarkTransfer1MiB fetches a 1 MiB user file over loopback with
// pin/tftp's client at blksize 1468, one transfer at a time.
func BenchmarkTransfer1MiB(b *testing.B) {
	addr, want, _ := userServer(b)
	const name = "sub/dir/1mib.bin"
	b.SetBytes(int64(len(want[name])))
	b.ReportAllocs()
	for b.Loop() {
		got, _, err := fetch(addr, name, 1468)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(want[name]) {
			b.Fatalf("got %d bytes, want %d", len(got), len(want[name]))
		}
	}
}
