package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
)

// runMachines implements `bootwright machines list|show MAC|reinstall MAC|
// adopt [MAC...]` against a running server's API.
func runMachines(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("machines", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverURL := fs.String("server", "http://127.0.0.1:8080", "the running server's URL")
	tok := fs.String("api-token", "", "API token for reinstall (as given to serve --api-token)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bootwright machines [flags] list | show MAC | reinstall MAC | adopt [MAC...]")
		fs.PrintDefaults()
	}
	if err := parseWithEnvAllowArgs(fs, args, getenv); err != nil {
		return usageError(stderr, "machines", err)
	}
	server := strings.TrimSuffix(*serverURL, "/")
	base := server + route.API + route.APIMachines
	cl := &http.Client{Timeout: 10 * time.Second}
	switch cmd := fs.Arg(0); {
	case cmd == "list" && fs.NArg() == 1:
		return machinesList(cl, base, stdout, stderr)
	case cmd == "adopt":
		return machinesAdopt(cl, base, fs.Args()[1:], stdout, stderr)
	case (cmd == "show" || cmd == "reinstall") && fs.NArg() == 2:
		mac, err := hw.ParseMAC(fs.Arg(1))
		if err != nil {
			return usageError(stderr, "machines", err)
		}
		url, method := server+route.MachineAPIPath(mac, ""), http.MethodGet
		if cmd == "reinstall" {
			url, method = server+route.MachineAPIPath(mac, "/reinstall"), http.MethodPost
		}
		return machinesCall(cl, method, url, *tok, stdout, stderr)
	}
	return usageError(stderr, "machines", errors.New("want list, show MAC, reinstall MAC or adopt [MAC...]"))
}

func machinesCall(cl *http.Client, method, url, tok string, stdout, stderr io.Writer) int {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright machines:", err)
		return 1
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := cl.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright machines:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "bootwright machines: %s %s: %s %s\n", method, url, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	stdout.Write(body)
	return 0
}

// listedMachine is one machine of the API's list.
type listedMachine struct {
	MAC, Name, State, Arch string
	LastIP                 string    `json:"last_ip"`
	LastIP6                string    `json:"last_ip6"`
	FirstSeen              time.Time `json:"first_seen"`
	LastSeen               time.Time `json:"last_seen"`
}

// fetchMachines GETs the API's machine list.
func fetchMachines(cl *http.Client, url string) ([]listedMachine, error) {
	resp, err := cl.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct{ Machines []listedMachine }
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return list.Machines, nil
}

func machinesList(cl *http.Client, url string, stdout, stderr io.Writer) int {
	ms, err := fetchMachines(cl, url)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright machines:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAC\tNAME\tSTATE\tARCH\tADDRESS\tLAST SEEN")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.MAC, cmp.Or(m.Name, "-"), m.State, cmp.Or(m.Arch, "-"), cmp.Or(strings.Trim(m.LastIP+" "+m.LastIP6, " "), "-"), seen(m.LastSeen))
	}
	tw.Flush()
	return 0
}

func seen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

// machinesAdopt prints machines.yaml entries for discovered machines (all
// of them, or those of macs), to be added under machines: and committed.
// It writes no file: the machines file lives in the user's git tree.
func machinesAdopt(cl *http.Client, url string, macs []string, stdout, stderr io.Writer) int {
	ms, err := fetchMachines(cl, url)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright machines:", err)
		return 1
	}
	want := map[string]bool{}
	for _, a := range macs {
		mac, err := hw.ParseMAC(a)
		if err != nil {
			return usageError(stderr, "machines", err)
		}
		want[mac.String()] = true
	}
	state := map[string]string{}
	var out []listedMachine
	for _, m := range ms {
		state[m.MAC] = m.State
		if m.State == "discovered" && (len(want) == 0 || want[m.MAC]) {
			out = append(out, m)
		}
	}
	code := 0
	for _, mac := range slices.Sorted(maps.Keys(want)) {
		if st := state[mac]; st != "discovered" {
			fmt.Fprintf(stderr, "bootwright machines: %s is not a discovered machine (%s)\n", mac, cmp.Or(st, "never seen"))
			code = 1
		}
	}
	fmt.Fprintf(stdout, "# %d discovered machine(s) from %s: add under machines: in menus/machines.yaml\n", len(out), url)
	for _, m := range out {
		mac, _ := hw.ParseMAC(m.MAC)
		fmt.Fprintf(stdout, "  - mac: %q\n    name: m-%s\n    # first seen %s, last seen %s, address %s, arch %s\n",
			m.MAC, mac.Hex(), seen(m.FirstSeen), seen(m.LastSeen), cmp.Or(strings.Trim(m.LastIP+" "+m.LastIP6, " "), "-"), cmp.Or(m.Arch, "-"))
	}
	return code
}
