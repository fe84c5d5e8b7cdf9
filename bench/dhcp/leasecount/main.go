// Command leasecount prints how many leases a stopped bootwright's
// leases.db holds, for the DHCP benchmark's check that leases were
// persisted under load. It opens the file as bootwright does, so a
// damaged file fails here too.
//
// Usage: leasecount STATE-DIR/leases.db
package main

import (
	"fmt"
	"os"

	"github.com/bootwright/bootwright/dhcpboot"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: leasecount LEASES.DB")
		os.Exit(2)
	}
	db, err := dhcpboot.OpenLeaseDB(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "leasecount:", err)
		os.Exit(1)
	}
	defer db.Close()
	fmt.Println(db.Len())
}
