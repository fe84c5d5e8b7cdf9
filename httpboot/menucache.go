package httpboot

import (
	"sync"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/menus"
)

// menuCacheMax bounds the rendered menus kept; past it the cache starts
// over, which costs one render per machine.
const menuCacheMax = 8192

// menuKey is everything a rendered menu depends on besides the config in
// service and the asset listing: the whole request (MAC, arch, client
// address, install state, tokens), which boot.Policy.Request makes the
// same for every request of one boot.
type menuKey menus.Request

// renderedMenu is a menu as served, with what the log line needs.
type renderedMenu struct {
	body []byte
	data *menus.Data
}

// menuCache keeps rendered menus for one Bundle and one asset listing;
// a reload or a new asset folder empties it.
type menuCache struct {
	mu     sync.Mutex
	bundle *bootconfig.Bundle
	gen    uint64
	m      map[menuKey]*renderedMenu
}

func (c *menuCache) get(b *bootconfig.Bundle, gen uint64, k menuKey) *renderedMenu {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bundle != b || c.gen != gen {
		return nil
	}
	return c.m[k]
}

func (c *menuCache) put(b *bootconfig.Bundle, gen uint64, k menuKey, v *renderedMenu) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bundle != b || c.gen != gen || len(c.m) >= menuCacheMax {
		c.bundle, c.gen, c.m = b, gen, map[menuKey]*renderedMenu{}
	}
	c.m[k] = v
}
