package cli

import "io"

func fmtCmd(args []string, stdout, stderr io.Writer) int { return ExitUsage }
