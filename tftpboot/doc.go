// Package tftpboot serves network boot programs over TFTP.
//
// It owns the iPXE NBPs embedded in the binary (see the nbp folder) and a
// read-only, root-confined view of an optional user TFTP root layered over
// them.
package tftpboot
