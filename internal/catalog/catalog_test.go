package catalog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

func load(t *testing.T, files map[string]string) *menus.Config {
	t.Helper()
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	c, err := menus.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestList(t *testing.T) {
	c := load(t, map[string]string{"menus/default.yaml": `
mirrors: {d: http://m/d}
entries:
  - {name: local, type: local}
  - name: inst
    arch: [bios, efi-x64, efi-arm64]
    sums: '{{ .Mirror "d" }}/SUMS'
    kernel: '{{ .Mirror "d" }}/amd64/linux'
    initrds: ['{{ .Mirror "d" }}/amd64/initrd.gz']
    per_arch:
      efi-arm64: {kernel: '{{ .Mirror "d" }}/arm64/linux'}
    args: 'repo={{ .Mirror "d" }}/repo quiet ks={{ .FileURL "ks" }}'
  - {name: other, type: chain, url: https://boot.example}
  - {name: mem, arch: [bios], kernel: '{{ .Server.URL }}/tftp/memtest'}
`})
	items, errs := List(c, menus.Server{URL: "http://self"}, hw.MAC{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Entry+" "+ArchNames(it.Arches)+" "+it.Role+" "+it.URL+map[bool]string{true: " local"}[it.Local])
	}
	want := []string{
		"inst bios,efi-x64 kernel http://m/d/amd64/linux",
		"inst bios,efi-x64 initrd http://m/d/amd64/initrd.gz",
		"inst bios,efi-x64,efi-arm64 sums http://m/d/SUMS",
		"inst bios,efi-x64,efi-arm64 arg http://m/d/repo",
		"inst bios,efi-x64,efi-arm64 arg http://self/files/00-00-00-00-00-00/ks local",
		"other bios,efi-ia32,efi-x64,efi-arm32,efi-arm64 chain https://boot.example",
		"mem bios kernel http://self/tftp/memtest local",
		"inst efi-arm64 kernel http://m/d/arm64/linux",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	var heads, gets atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { heads.Add(1) })
	mux.HandleFunc("/gone", http.NotFound)
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusMovedPermanently) })
	mux.HandleFunc("/mirror", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/dir", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dir/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/dir/", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/nohead", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		gets.Add(1)
		if r.Header.Get("Range") != "bytes=0-0" {
			t.Errorf("GET without a one-byte Range")
		}
		w.WriteHeader(http.StatusPartialContent)
	})
	mux.HandleFunc("/portal", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var items []Item
	for _, p := range []string{"/ok", "/gone", "/old", "/mirror", "/dir", "/nohead", "/slow", "/ok", "/portal"} {
		items = append(items, Item{Entry: "e", Role: RoleKernel, URL: srv.URL + p})
	}
	items = append(items, Item{Entry: "e", Role: RoleArg, URL: srv.URL + "/portal?page"}) // a page is fine as an argument
	items = append(items, Item{URL: "http://self/tftp/x", Local: true})
	start := time.Now()
	res := Checker{Timeout: 300 * time.Millisecond, Concurrency: 3}.Check(context.Background(), items)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("check took %v", d)
	}
	var got []string
	for _, r := range res {
		got = append(got, strings.TrimPrefix(r.URL, srv.URL)+" "+r.Verdict+" "+strings.TrimPrefix(r.Detail, srv.URL))
	}
	want := []string{
		"/ok ok ", "/gone dead 404 Not Found", "/old moved /new", "/mirror ok ", "/dir ok ",
		"/nohead ok ", "/slow dead no answer in time", "/portal dead an HTML page (Content-Type text/html; charset=utf-8), not a boot file",
		"/portal?page ok ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if heads.Load() != 2 || gets.Load() != 1 {
		t.Errorf("/ok asked %d times (want 2: once, and once through /mirror), /nohead GETs %d", heads.Load(), gets.Load())
	}
}
