// Command screen watches a QEMU VM's screen through its monitor socket
// (HMP) for test/menu: it dumps the VGA text buffer (pmemsave of 0xb8000,
// 80x25 character/attribute pairs: legacy BIOS text mode, where iPXE
// draws its menu) once a second until every -want string is on screen,
// then saves a picture of the screen (screendump, PPM) as PNG and prints
// the screen's text. It exits 1 if the strings do not all appear within
// -timeout, printing the last screen.
//
// Usage: screen -mon DIR/mon.sock -dir DIR -png DIR/menu.png -want TITLE -want '[default]' [-timeout 120s]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

type wants []string

func (w *wants) String() string     { return strings.Join(*w, ", ") }
func (w *wants) Set(s string) error { *w = append(*w, s); return nil }

func main() {
	mon := flag.String("mon", "", "QEMU monitor socket (-monitor unix:PATH,server,nowait)")
	dir := flag.String("dir", ".", "where the dumps go")
	out := flag.String("png", "", "where the screen picture goes")
	timeout := flag.Duration("timeout", 120*time.Second, "how long to wait for the strings")
	var want wants
	flag.Var(&want, "want", "a string that must be on screen (repeatable)")
	flag.Parse()
	if err := run(*mon, *dir, *out, want, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "screen:", err)
		os.Exit(1)
	}
}

func run(mon, dir, out string, want []string, timeout time.Duration) error {
	c, err := net.Dial("unix", mon)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := readPrompt(r); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	dump := filepath.Join(dir, "vga.bin")
	var text string
	for deadline := time.Now().Add(timeout); ; {
		if err := hmp(c, r, fmt.Sprintf("pmemsave 0xb8000 4000 \"%s\"", dump)); err != nil {
			return err
		}
		b, err := os.ReadFile(dump)
		if err != nil {
			return err
		}
		text = vgaText(b)
		if all(text, want) {
			break
		}
		if time.Now().After(deadline) {
			fmt.Print(text)
			return fmt.Errorf("not on screen after %v: %q", timeout, missing(text, want))
		}
		time.Sleep(time.Second)
	}
	if out != "" {
		ppm := filepath.Join(dir, "screen.ppm")
		if err := hmp(c, r, "screendump \""+ppm+"\""); err != nil {
			return err
		}
		if err := toPNG(ppm, out); err != nil {
			return err
		}
	}
	fmt.Print(text)
	return nil
}

// hmp sends one monitor command and waits for the next prompt.
func hmp(c net.Conn, r *bufio.Reader, cmd string) error {
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return err
	}
	reply, err := readPrompt(r)
	if err != nil {
		return fmt.Errorf("monitor %q: %w", cmd, err)
	}
	// The monitor echoes the command; anything after it is an error.
	if _, after, ok := strings.Cut(reply, cmd); ok && strings.TrimSpace(after) != "" {
		return fmt.Errorf("monitor %q: %s", cmd, strings.TrimSpace(after))
	}
	return nil
}

// readPrompt reads until the monitor's "(qemu) " prompt.
func readPrompt(r *bufio.Reader) (string, error) {
	var sb strings.Builder
	for !strings.HasSuffix(sb.String(), "(qemu) ") {
		b, err := r.ReadByte()
		if err != nil {
			return sb.String(), err
		}
		sb.WriteByte(b)
	}
	s := ansi.ReplaceAllString(strings.TrimSuffix(sb.String(), "(qemu) "), "")
	// Drop the terminal escapes the monitor writes around its echo.
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' {
			return -1
		}
		return r
	}, s), nil
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// vgaText turns an 80x25 text-mode buffer into 25 lines, spaces trimmed.
func vgaText(b []byte) string {
	var sb strings.Builder
	for row := 0; row < 25 && (row+1)*160 <= len(b); row++ {
		line := make([]byte, 80)
		for col := range line {
			ch := b[row*160+col*2]
			if ch < 0x20 || ch > 0x7e {
				ch = ' '
			}
			line[col] = ch
		}
		sb.WriteString(strings.TrimRight(string(line), " "))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func all(text string, want []string) bool { return len(missing(text, want)) == 0 }

func missing(text string, want []string) []string {
	var out []string
	for _, w := range want {
		if !strings.Contains(text, w) {
			out = append(out, w)
		}
	}
	return out
}

// toPNG converts QEMU's binary PPM (P6, maxval 255) to PNG.
func toPNG(ppm, out string) error {
	f, err := os.Open(ppm)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var w, h, max int
	var magic string
	if _, err := fmt.Fscan(r, &magic, &w, &h, &max); err != nil || magic != "P6" || max != 255 || w <= 0 || h <= 0 || w*h > 1<<24 {
		return fmt.Errorf("%s: not a P6 PPM QEMU writes (%q %dx%d max %d): %v", ppm, magic, w, h, max, err)
	}
	if _, err := r.ReadByte(); err != nil { // the one whitespace byte after the header
		return err
	}
	px := make([]byte, 3*w*h)
	if _, err := io.ReadFull(r, px); err != nil {
		return fmt.Errorf("%s: %w", ppm, err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Set(i%w, i/w, color.NRGBA{px[3*i], px[3*i+1], px[3*i+2], 255})
	}
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(o, img); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}
