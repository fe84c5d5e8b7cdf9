// Package boot decides what a machine boots. It is the one place that
// turns a MAC (with its arch, firmware and address) and the config in
// service into answers for the three servers:
//
//   - for DHCP, the machine's Host: its reserved address and hostname,
//     the boot file its firmware is offered (an iPXE NBP, a classic
//     loader, or Debian's signed shim for Secure Boot) and the script its
//     iPXE is sent to;
//   - for TFTP, the files rendered per request: the iPXE scripts that
//     chain pxelinux or GRUB, and those loaders' menus;
//   - for every renderer (the iPXE menu over HTTP, the pxelinux and GRUB
//     menus over TFTP, the answer files, `bootwright render`), the request
//     data templates see: machine, install state, the answer-file token
//     and the installer's callback URL, built by Policy.Request and by
//     nothing else.
//
// The servers receive these answers through small hooks
// (dhcpboot.Server.Hosts, tftpboot.Server.Render) or by calling the
// Policy (httpboot); they do not derive them again.
package boot
