//go:build !linux

package blob

import "os"

// Outside Linux, Local derives content types from keys instead of storing them.
func setContentType(*os.File, string) error   { return nil }
func fileContentType(*os.File) (string, bool) { return "", false }
func pathContentType(string) (string, bool)   { return "", false }
