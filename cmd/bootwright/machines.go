package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bootwright/bootwright/menus"
)

// runMachines implements `bootwright machines list|show MAC|reinstall MAC`
// against a running server's API.
func runMachines(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("machines", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "the running server's URL")
	tok := fs.String("api-token", "", "API token for reinstall (as given to serve --api-token)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bootwright machines [flags] list | show MAC | reinstall MAC")
		fs.PrintDefaults()
	}
	if err := parseWithEnvAllowArgs(fs, args, getenv); err != nil {
		return usageError(stderr, "machines", err)
	}
	base := strings.TrimSuffix(*server, "/") + "/api/v1/machines"
	cl := &http.Client{Timeout: 10 * time.Second}
	switch cmd := fs.Arg(0); {
	case cmd == "list" && fs.NArg() == 1:
		return machinesList(cl, base, stdout, stderr)
	case (cmd == "show" || cmd == "reinstall") && fs.NArg() == 2:
		hw, err := menus.ParseMAC(fs.Arg(1))
		if err != nil {
			return usageError(stderr, "machines", err)
		}
		url := base + "/" + strings.ReplaceAll(hw.String(), ":", "-")
		method := http.MethodGet
		if cmd == "reinstall" {
			url, method = url+"/reinstall", http.MethodPost
		}
		return machinesCall(cl, method, url, *tok, stdout, stderr)
	}
	return usageError(stderr, "machines", errors.New("want list, show MAC or reinstall MAC"))
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

func machinesList(cl *http.Client, url string, stdout, stderr io.Writer) int {
	resp, err := cl.Get(url)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright machines:", err)
		return 1
	}
	defer resp.Body.Close()
	var list struct {
		Machines []struct {
			MAC, Name, State, Arch string
			LastIP                 string    `json:"last_ip"`
			LastSeen               time.Time `json:"last_seen"`
		}
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
		fmt.Fprintf(stderr, "bootwright machines: GET %s: %s\n", url, resp.Status)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAC\tNAME\tSTATE\tARCH\tADDRESS\tLAST SEEN")
	for _, m := range list.Machines {
		seen := "never"
		if !m.LastSeen.IsZero() {
			seen = m.LastSeen.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.MAC, or(m.Name, "-"), m.State, or(m.Arch, "-"), or(m.LastIP, "-"), seen)
	}
	tw.Flush()
	return 0
}
