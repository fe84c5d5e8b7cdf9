// Package answers checks rendered per-machine files (kickstart, Debian
// preseed, cloud-config and NoCloud meta-data, Windows unattend and other
// XML) for the mistakes that stop an unattended install before it starts:
// syntax errors, unknown kickstart commands and sections, malformed
// debconf lines, a missing #cloud-config header or autoinstall version.
// It does not run the installers' own validators; bootwright check uses
// it on every file it renders, and its tests compare it with those tools.
package answers
