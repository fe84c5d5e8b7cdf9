package httpboot

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/route"
)

// Server serves the HTTP side of the boot. Boot is required; the rest
// have working zero values.
type Server struct {
	// Boot decides what each machine gets: its menu, its files and who
	// may fetch them. Its Config, Assets, Cache and State are also what
	// the status page, /assets/, /cache/ and the API serve.
	Boot    *boot.Policy
	TFTP    fs.FS            // the TFTP files, also served at /tftp/; nil serves none
	Addr    string           // listen address; empty means ":8080"
	Logger  *slog.Logger     // nil discards logs
	Metrics *metrics.Metrics // counted into and served at /metrics; nil: neither

	// TLSAddr and TLSConfig are the HTTPS listen address and its TLS
	// settings (the certificate through GetCertificate), for ListenTLS
	// and ServeTLS; empty and nil: no HTTPS.
	TLSAddr   string
	TLSConfig *tls.Config

	// ReadHeaderTimeout and IdleTimeout bound slow or idle clients; zero
	// means 10s and 2m. There is no write timeout: a kernel or initrd may
	// take long to send to a slow machine.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration

	// MaxStreamsPerIP caps concurrent downloads (/assets/, /tftp/,
	// /cache/) per client address; more get 429. Zero means
	// DefaultMaxStreamsPerIP, negative means no cap.
	MaxStreamsPerIP int

	// DryRun records no events and changes no state: `bootwright render`
	// serves through the handler to print exactly what it would send.
	DryRun bool
	// APIToken is the bearer token API write calls need; empty refuses
	// them all.
	APIToken string
	// APIRate bounds the API requests of each client address (429
	// beyond it); zero means DefaultAPIRate, a negative PerSecond none.
	APIRate RateLimit

	initOnce sync.Once
	menus    menuCache
	stats    statsCache
	srv      *http.Server
	streams  streamLimiter
	apiLimit rateLimiter
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		s.srv = &http.Server{
			Handler:           s.routes(),
			ReadHeaderTimeout: cmp.Or(s.ReadHeaderTimeout, 10*time.Second),
			IdleTimeout:       cmp.Or(s.IdleTimeout, 2*time.Minute),
			MaxHeaderBytes:    64 << 10,
			ConnContext:       withConn,
			ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		}
	})
}

// Handler returns the router with every route and middleware.
func (s *Server) Handler() http.Handler {
	s.init()
	return s.srv.Handler
}

// routes declares every route in one place.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.logRequests, middleware.Recoverer)
	r.Get(route.BootScript, s.bootScript)
	r.Get(route.Menu, s.ipxeMenu)
	r.Get(route.MenuFailed, s.menuFailed)
	r.Get(route.Files, s.machineFile)
	r.Get(route.TokenFiles, s.machineFile)
	r.Group(func(r chi.Router) {
		r.Use(s.assetEvents)
		s.assetRoutes(r)
	})
	r.Get(route.Health, s.healthz)
	if s.Boot.State != nil {
		r.Get(route.StatusPage, s.statusPage)
		r.Get(route.StatusRows, s.statusRows)
		r.Get(route.StatusCharts, s.statusCharts)
		r.Get(route.MachinePage, s.machinePage)
		s.apiRoutes(r)
	}
	if s.Metrics != nil {
		r.Method(http.MethodGet, route.Metrics, s.Metrics.Handler())
	}
	return r
}

// Serve accepts connections on l until Shutdown; it returns nil then.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ListenAndServe listens on Addr and serves.
func (s *Server) ListenAndServe() error {
	l, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Listen opens the TCP listener ListenAndServe serves (Addr, default
// :8080), for a caller that binds every port before it drops privileges
// and calls Serve.
func (s *Server) Listen() (net.Listener, error) {
	return net.Listen("tcp", cmp.Or(s.Addr, ":8080"))
}

// Shutdown stops accepting and waits for requests in flight (downloads
// included) until ctx ends. Downloads still running then are cut: their
// connections are closed, so clients see a short transfer, never a
// truncated file that looks complete, and Shutdown returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	err := s.srv.Shutdown(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	n := s.streams.active()
	cerr := s.srv.Close()
	s.Logger.Warn("http: shutdown grace over, cut downloads in flight", "downloads", n, "err", cerr)
	return nil
}
