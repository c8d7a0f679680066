//go:build sprig

package main

import (
	"text/template"

	"github.com/Masterminds/sprig"
)

// hasSprig says whether this build carries Sprig (built with `-tags sprig` in GOPATH mode, as
// tests/fixtures/sprig/regen.sh builds its renderer), for `-sprig`.
const hasSprig = true

// withSprig merges Sprig v3 under the agent functions the way the Infisical agent wires it:
// without env and expandenv, and without Sprig's slice so Go's builtin stays.
func withSprig(funcs template.FuncMap) template.FuncMap {
	for name, f := range sprig.TxtFuncMap() {
		switch name {
		case "env", "expandenv", "slice":
			continue
		}
		if _, own := funcs[name]; !own {
			funcs[name] = f
		}
	}
	return funcs
}
