// Package templates renders bootwright's text templates: the iPXE boot
// script, menus and chain scripts, GRUB and pxelinux menus, and the
// per-machine answer files (kickstart, preseed, autoinstall, unattend).
//
// Every template is parsed once at load with text/template, sprig's
// hermetic function map (no env, no randomness, no clock) and
// missingkey=error, and executed into a buffer so a failed render never
// leaves a half-written response. The defaults are embedded; a user's
// config directory with the same templates/ layout overrides them file by
// file.
package templates
