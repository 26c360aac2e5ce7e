// Package web holds vindex's browser app: the React sources beside this file
// and, embedded into the binary, their build (dist, made by `make web`).
package web

import (
	"embed"
	"io/fs"
)

// dist is the Vite build. A clean checkout holds only dist/.gitkeep, so the
// binary compiles before the app is built; all: keeps that dotfile matching.
//
//go:embed all:dist
var dist embed.FS

// Dist returns the built app's files, index.html at the root.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// "dist" is a constant, valid path: fs.Sub cannot fail on it.
		panic(err)
	}
	return sub
}
