package httpboot

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/state"
)

// discardWriter is a ResponseWriter that keeps nothing, so benchmarks
// measure the handlers and middleware, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// benchServer is the test server with a 4 KiB asset and a logger that
// formats every line like production does, into io.Discard.
func benchServer(b *testing.B, level slog.Level) *Server {
	cfg, assets := b.TempDir(), b.TempDir()
	for name, data := range map[string]string{
		filepath.Join(cfg, "menus", "machines.yaml"):     machines,
		filepath.Join(assets, "testos", "vmlinuz"):       "kernel",
		filepath.Join(assets, "testos", "initrd.gz"):     "initrd",
		filepath.Join(assets, "testos", "small.bin"):     string(make([]byte, 4096)),
		filepath.Join(assets, "testos", "cmdline"):       "console=ttyS0",
		filepath.Join(assets, "other", "vmlinuz-6.1.0"):  "kernel",
		filepath.Join(assets, "other", "initrd.img-6.1"): "initrd",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	bundle, err := bootconfig.Load(cfg)
	if err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(assets)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { root.Close() })
	return &Server{
		Boot:            &boot.Policy{Config: bootconfig.NewLive(bundle), PublicURL: "http://10.231.0.1:8080", Assets: root.FS()},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level})),
		MaxStreamsPerIP: -1,
	}
}

func run(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest("GET", target, nil)
	req.RemoteAddr = "10.0.0.5:40000"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkMenu renders a known machine's iPXE menu: through the whole
// router with info logging (as served), with warn logging (no log line),
// and with the handler alone on a bare chi router (no request id, no
// logging middleware), which prices the middleware.
func BenchmarkMenu(b *testing.B) {
	const target = "/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi"
	b.Run("router+info-log", func(b *testing.B) { run(b, benchServer(b, slog.LevelInfo).Handler(), target) })
	b.Run("router+warn-log", func(b *testing.B) { run(b, benchServer(b, slog.LevelWarn).Handler(), target) })
	b.Run("handler-only", func(b *testing.B) {
		s := benchServer(b, slog.LevelWarn)
		s.Handler()
		r := chi.NewRouter()
		r.Get("/ipxe/{mac}", s.ipxeMenu)
		run(b, r, target)
	})
	// As serve runs it: info logging, the state store recording an event
	// per menu, install state and tokens per request, metrics.
	b.Run("as-served", func(b *testing.B) {
		s := benchServer(b, slog.LevelInfo)
		st, err := state.Open(filepath.Join(b.TempDir(), state.FileName))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		s.Boot.State, s.Metrics = st, metrics.New()
		run(b, s.Handler(), target)
	})
}

// BenchmarkAsset serves a 4 KiB asset the same three ways.
func BenchmarkAsset(b *testing.B) {
	const target = "/assets/testos/small.bin"
	b.Run("router+info-log", func(b *testing.B) { run(b, benchServer(b, slog.LevelInfo).Handler(), target) })
	b.Run("router+warn-log", func(b *testing.B) { run(b, benchServer(b, slog.LevelWarn).Handler(), target) })
	b.Run("handler-only", func(b *testing.B) {
		s := benchServer(b, slog.LevelWarn)
		s.Handler()
		r := chi.NewRouter()
		r.Get("/assets/*", s.files("/assets/", func() fs.FS { return s.Boot.Assets }))
		run(b, r, target)
	})
}
