package tftpboot

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestListenReceiveBuffer: Listen's socket has a receive buffer of
// ListenReceiveBuffer, past net.core.rmem_max when the process may
// override it (root), else as much of it as rmem_max allows; never the
// default.
func TestListenReceiveBuffer(t *testing.T) {
	conn, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := ListenReceiveBuffer
	if os.Geteuid() != 0 {
		b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
		if err != nil {
			t.Skipf("no rmem_max: %v", err)
		}
		if m, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && m < want {
			want = m
		}
	}
	// The kernel reports twice what it granted.
	if got := receiveBuffer(conn); got != 2*want {
		t.Errorf("receive buffer %d, want %d (2 × %d)", got, 2*want, want)
	}
}
