// Package layerfs owns the read-only file trees bootwright serves and
// loads from, and the rules for reading an operator's directory.
//
// Dir confines reads to a directory through an os.Root and opens regular
// files only, so no name, ".." or symlink reaches outside it and a FIFO
// or device cannot block or feed a reader; what it refuses wraps
// ErrRefused. Stack layers trees so that the first one holding a name
// wins (a user's directory over embedded defaults), Prefix serves a tree
// under a folder name, and Mount copies small embedded trees into memory
// under their folder names. bootconfig reads a config directory over the
// embedded menus/ and templates/ this way; tftpboot builds its TFTP tree
// from the same pieces.
package layerfs
