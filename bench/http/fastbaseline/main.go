// Command fastbaseline is a reference point in bench/http/run.sh: a Go
// static file server that does not use net/http. It serves a directory
// with valyala/fasthttp's FS handler (open files and small files cached,
// sendfile, single byte ranges), nothing else: no router, no logging.
// bootwright's HTTP side is built on net/http and chi; the gap between
// this column and the net/http one is what net/http itself costs per
// request, which no handler on top of it can win back.
//
// It is its own module so that bootwright does not depend on fasthttp.
//
//	fastbaseline 127.0.0.1:8081 /srv/www
package main

import (
	"fmt"
	"os"

	"github.com/valyala/fasthttp"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fastbaseline ADDR DIR")
		os.Exit(2)
	}
	fs := &fasthttp.FS{Root: os.Args[2], AcceptByteRange: true}
	if err := fasthttp.ListenAndServe(os.Args[1], fs.NewRequestHandler()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
