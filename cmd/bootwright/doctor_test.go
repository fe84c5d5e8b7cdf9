package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/doctor"
	"github.com/bootwright/bootwright/internal/hw"
)

func TestDoctorFlags(t *testing.T) {
	noDefault := func() (string, error) { return "", errors.New("no default route") }
	tests := map[string]struct {
		args []string
		env  map[string]string
		want string // error substring; "" for success
		arch hw.Arch
		wait time.Duration
	}{
		"defaults":        {[]string{"--interface=eth0"}, nil, "", hw.ArchEFIx64, 10 * time.Second},
		"bios from env":   {[]string{"--interface=eth0"}, map[string]string{"BOOTWRIGHT_ARCH": "bios"}, "", hw.ArchBIOS, 10 * time.Second},
		"timeout":         {[]string{"--interface=eth0", "--timeout=3s"}, nil, "", hw.ArchEFIx64, 3 * time.Second},
		"bad arch":        {[]string{"--interface=eth0", "--arch=arm64"}, nil, `--arch: unknown arch "arm64"`, 0, 0},
		"bad mac":         {[]string{"--interface=eth0", "--mac=52:54"}, nil, `--mac "52:54"`, 0, 0},
		"long mac":        {[]string{"--interface=eth0", "--mac=00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"}, nil, "--mac", 0, 0},
		"zero timeout":    {[]string{"--interface=eth0", "--timeout=0s"}, nil, "must be positive", 0, 0},
		"no interface":    {nil, nil, "--interface: no default route", 0, 0},
		"positional args": {[]string{"eth0"}, nil, `unexpected argument "eth0"`, 0, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fs, f := newDoctorFlagSet(&bytes.Buffer{})
			err := parseWithEnv(fs, tc.args, func(k string) string { return tc.env[k] })
			var d *doctor.Doctor
			if err == nil {
				d, err = buildDoctor(f, noDefault)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Interface != "eth0" || d.Arch != tc.arch || d.Wait != tc.wait {
				t.Errorf("doctor = %+v", d)
			}
		})
	}
}

func TestDoctorExitCodes(t *testing.T) {
	tests := map[string]struct {
		args []string
		code int
		out  string
	}{
		"help":          {[]string{"doctor", "-h"}, 0, "usage: bootwright doctor"},
		"bad flag":      {[]string{"doctor", "--arch=x"}, 2, "bootwright doctor: --arch"},
		"no such iface": {[]string{"doctor", "--interface=bw-no-such0"}, 2, `interface "bw-no-such0"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(string) string { return "" }, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.out) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.out)
			}
		})
	}
}
