//go:build !unix

package main

// disableCoreFiles does nothing where the runtime's abort leaves no core
// file by default.
func disableCoreFiles() {}
