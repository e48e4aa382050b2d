// Command berth is a self-hosted control plane that places members into
// pools of limited capacity. See README.md.
package main

import (
	"os"

	"github.com/berthhq/berth/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
