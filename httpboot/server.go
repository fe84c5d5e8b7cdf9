package httpboot

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/cache"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
)

// Server serves the HTTP side of the boot. Config and PublicURL are
// required; the rest have working zero values.
type Server struct {
	Config    *bootconfig.Live // menus and templates in service
	PublicURL string           // how clients reach us, e.g. http://10.0.0.1:8080
	Assets    fs.FS            // the assets directory; nil serves none
	TFTP      fs.FS            // the TFTP files, also served at /tftp/; nil serves none
	Addr      string           // listen address; empty means ":8080"
	Logger    *slog.Logger     // nil discards logs
	Metrics   *metrics.Metrics // counted into and served at /metrics; nil: neither

	// ReadHeaderTimeout and IdleTimeout bound slow or idle clients; zero
	// means 10s and 2m. There is no write timeout: a kernel or initrd may
	// take long to send to a slow machine.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration

	// MaxStreamsPerIP caps concurrent downloads (/assets/, /tftp/,
	// /cache/) per client address; more get 429. Zero means
	// DefaultMaxStreamsPerIP, negative means no cap.
	MaxStreamsPerIP int

	// Cache serves /cache/; nil means /cache/ is 404.
	Cache *cache.Cache

	// State records boot events and install states, and backs the API
	// and the status page; nil means none of the three.
	State *state.Store
	// APIToken is the bearer token API write calls need; empty refuses
	// them all.
	APIToken string
	// APIRate bounds the API requests of each client address (429
	// beyond it); zero means DefaultAPIRate, a negative PerSecond none.
	APIRate RateLimit
	// Secrets gives templates their secrets ({{ .Secret "name" }}); nil
	// means none.
	Secrets func(machine, name string) (string, error)

	initOnce sync.Once
	scanner  menus.AssetScanner
	menus    menuCache
	tokens   sync.Map // MAC -> machineTokens
	srv      *http.Server
	streams  streamLimiter
	apiLimit rateLimiter
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		s.PublicURL = strings.TrimSuffix(s.PublicURL, "/")
		s.scanner.FS = s.Assets
		s.srv = &http.Server{
			Handler:           s.routes(),
			ReadHeaderTimeout: orDur(s.ReadHeaderTimeout, 10*time.Second),
			IdleTimeout:       orDur(s.IdleTimeout, 2*time.Minute),
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
	r.Get("/boot.ipxe", s.bootScript)
	r.Get("/ipxe/{mac}", s.ipxeMenu)
	r.Get("/files/{mac}/*", s.machineFile)
	r.Get("/t/{token}/files/{mac}/*", s.machineFile)
	r.Group(func(r chi.Router) {
		r.Use(s.assetEvents)
		s.assetRoutes(r)
	})
	r.Get("/healthz", s.healthz)
	if s.State != nil {
		r.Get("/", s.statusPage)
		r.Get("/status/rows", s.statusRows)
		s.apiRoutes(r)
	}
	if s.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.Metrics.Handler())
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

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
