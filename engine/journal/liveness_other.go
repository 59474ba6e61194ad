//go:build !unix

package journal

// pidLiveness cannot probe processes here.
func pidLiveness(int, uint64) Liveness { return Unknown }

func procStart(int) uint64 { return 0 }
