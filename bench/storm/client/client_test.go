package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTFTP serves data to one RRQ: it grants the options in grant (nil:
// no OACK, RFC 1350 only), sends windows of blocks and goes back to the
// block after an ACK; drop names a block it loses the first time.
func fakeTFTP(t *testing.T, data []byte, grant map[string]string, drop int) *net.UDPAddr {
	t.Helper()
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		buf := make([]byte, 2048)
		_, peer, err := l.ReadFromUDP(buf)
		if err != nil {
			return
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return
		}
		defer c.Close()
		blk, win := 512, 1
		if grant != nil {
			oack := binary.BigEndian.AppendUint16(nil, opOACK)
			for k, v := range grant {
				oack = append(append(append(append(oack, k...), 0), v...), 0)
			}
			blk, _ = strconv.Atoi(grant["blksize"])
			if w, ok := grant["windowsize"]; ok {
				win, _ = strconv.Atoi(w)
			}
			c.WriteToUDP(oack, peer)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := c.ReadFromUDP(buf); err != nil {
				return
			}
		}
		blocks := len(data)/blk + 1
		dropped := false
		next := 1
		for next <= blocks {
			for b := next; b < next+win && b <= blocks; b++ {
				if b == drop && !dropped {
					dropped = true
					continue
				}
				end := min(b*blk, len(data))
				p := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opDATA), uint16(b))
				c.WriteToUDP(append(p, data[(b-1)*blk:end]...), peer)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _, err := c.ReadFromUDP(buf)
			if err != nil || n < 4 || binary.BigEndian.Uint16(buf) != opACK {
				return
			}
			next = int(binary.BigEndian.Uint16(buf[2:])) + 1
		}
	}()
	return l.LocalAddr().(*net.UDPAddr)
}

func TestTFTPGet(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes
	for name, tc := range map[string]struct {
		grant       map[string]string
		drop        int
		wantGranted string
	}{
		"lock-step: OACK without windowsize": {map[string]string{"blksize": "1468", "tsize": "16000"}, 0, "blksize=1468 tsize=16000"},
		"windowsize granted":                 {map[string]string{"blksize": "1468", "tsize": "16000", "windowsize": "4"}, 0, "blksize=1468 tsize=16000 windowsize=4"},
		"windowsize, a block lost":           {map[string]string{"blksize": "1468", "tsize": "16000", "windowsize": "4"}, 6, "blksize=1468 tsize=16000 windowsize=4"},
		"lock-step, a block lost":            {map[string]string{"blksize": "1468", "tsize": "16000"}, 3, "blksize=1468 tsize=16000"},
		"no OACK: 512-byte blocks":           {nil, 0, "no OACK"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := fakeTFTP(t, data, tc.grant, tc.drop)
			var st tftpTransfer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tftpGet(ctx, tftpRequest{local: net.IPv4(127, 0, 0, 1), server: srv, file: "f",
				blksize: 1468, window: 4, timeout: 300 * time.Millisecond, retries: 5, want: data, stats: &st})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantGranted, st.granted); diff != "" {
				t.Errorf("granted (-want +got):\n%s", diff)
			}
			if st.bytes != len(data) {
				t.Errorf("got %d bytes, want %d", st.bytes, len(data))
			}
		})
	}
}

func TestTFTPGetDiffers(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 3000)
	srv := fakeTFTP(t, data, map[string]string{"blksize": "1468"}, 0)
	want := bytes.Repeat([]byte("x"), 3000)
	want[2000] = 'y'
	err := tftpGet(context.Background(), tftpRequest{local: net.IPv4(127, 0, 0, 1), server: srv, file: "f",
		blksize: 1468, timeout: 300 * time.Millisecond, retries: 2, want: want, stats: &tftpTransfer{}})
	if err == nil || !strings.Contains(err.Error(), "block 2 differs") {
		t.Fatalf("err = %v, want block 2 differs", err)
	}
}

func TestParseScript(t *testing.T) {
	mac, _ := net.ParseMAC("02:42:00:00:00:01")
	vars := ipxeVars(mac)
	for name, tc := range map[string]struct {
		script string
		want   bootTarget
		err    string
	}{
		"boot.ipxe chains to the menu": {
			script: "#!ipxe\nchain --autofree http://10.0.0.1:8080/ipxe/${mac:hexhyp}?arch=${buildarch}&platform=${platform} || goto bw-failed\nexit\n",
			want:   bootTarget{chain: "http://10.0.0.1:8080/ipxe/02-42-00-00-00-01?arch=x86_64&platform=efi"},
		},
		"menu: the default entry": {
			script: "#!ipxe\n:bw-menu\nmenu m\nitem local L\nitem storm S\nchoose --timeout 5000 --default storm selected || goto bw-shell\ngoto ${selected}\n" +
				":local\nexit\n:storm\necho Booting storm\nkernel http://h/assets/storm/vmlinuz initrd=initrd.gz || goto bw-failed\n" +
				"initrd --name initrd.gz http://h/assets/storm/initrd.gz || goto bw-failed\nboot || goto bw-failed\n:shell\nshell\n",
			want: bootTarget{kernel: "http://h/assets/storm/vmlinuz", initrds: []string{"http://h/assets/storm/initrd.gz"}},
		},
		"menu whose default is local": {
			script: "#!ipxe\nchoose --default local selected\n:local\nexit\n",
			err:    `reaches "exit"`,
		},
		"unknown setting": {
			script: "#!ipxe\nchain http://h/${serial}\n",
			err:    "${serial} not simulated",
		},
		"not a script": {script: "<html>", err: "not an iPXE script"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseScript([]byte(tc.script), vars)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(bootTarget{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddMAC(t *testing.T) {
	base, _ := net.ParseMAC("02:42:00:00:00:ff")
	if got := addMAC(base, 2).String(); got != "02:42:00:00:01:01" {
		t.Errorf("addMAC = %s", got)
	}
}
