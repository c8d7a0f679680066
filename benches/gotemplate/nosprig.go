//go:build !sprig

package main

import "text/template"

// hasSprig says whether this build carries Sprig; this one is the standard library only.
const hasSprig = false

// withSprig adds nothing without Sprig's source.
func withSprig(funcs template.FuncMap) template.FuncMap { return funcs }
