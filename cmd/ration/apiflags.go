package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/api/apiclient"
)

// apiFlags are how the people's commands reach the HTTP API.
type apiFlags struct {
	api string
	key string
}

func defaultAPIFlags() apiFlags { return apiFlags{api: "http://127.0.0.1:8080"} }

func (f *apiFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.api, "api", f.api, "base URL of ration's HTTP API")
	fs.StringVar(&f.key, "key", f.key, "API key (prefer RATION_API_KEY: flags show in ps)")
}

// client is built at run time, after the config file and environment
// (RATION_API) have been applied to the flags. RATION_API_KEY stands in
// for --key.
func (f *apiFlags) client() *apiclient.Client {
	key := f.key
	if key == "" {
		key = os.Getenv("RATION_API_KEY")
	}
	return apiclient.New(f.api, nil).WithKey(key)
}
