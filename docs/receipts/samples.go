// Package receiptsamples ships the sample receipt types and receipts (one
// of each type in JSON and in XML) with every ration binary, for `ration
// bench receipts` and for people to start from: types/NAME.json,
// samples/NAME.json, samples/NAME.xml.
package receiptsamples

import (
	"embed"
	"io/fs"
)

//go:embed types/*.json samples/*.json samples/*.xml
var files embed.FS

// FS holds the samples.
var FS fs.FS = files

// Type returns the sample type document called name.
func Type(name string) ([]byte, error) { return fs.ReadFile(files, "types/"+name+".json") }
