// Command owner prints which of the replicas sharing --state-db answers
// a MAC's DISCOVERs (pgstore.Rendezvous, the function the replicas use),
// so that the replica VM test can give its VM a MAC in replica A's share.
//
// Usage: owner MAC ID...
package main

import (
	"fmt"
	"os"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/pgstore"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: owner MAC ID...")
		os.Exit(2)
	}
	mac, err := hw.ParseMAC(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "owner: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(pgstore.Rendezvous(os.Args[2:], mac))
}
