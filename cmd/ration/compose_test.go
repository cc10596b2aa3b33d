package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/rationhq/ration/deploy/grafana"
	"github.com/rationhq/ration/internal/cliconfig"
	"github.com/rationhq/ration/pipelines/points"
)

// These tests read docker-compose.yml and the files it mounts; Docker
// itself is not run here.

type composeService struct {
	Image       string            `yaml:"image"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Build       struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Volumes  []string `yaml:"volumes"`
	Ports    []string `yaml:"ports"`
	Profiles []string `yaml:"profiles"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

// composeRoot is the repository root, where docker-compose.yml is.
var composeRoot = filepath.Join("..", "..")

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(composeRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// rationCommand returns the ration command svc runs, its flags parsed.
func rationCommand(svc composeService) (*cobra.Command, error) {
	cmd, rest, err := newRootCmd().Find(svc.Command)
	if err != nil || !cmd.Runnable() {
		return nil, fmt.Errorf("command %v is not a ration command: %v", svc.Command, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return nil, fmt.Errorf("%v: %w", svc.Command, err)
	}
	if args := cmd.Flags().Args(); len(args) > 0 {
		return nil, fmt.Errorf("%v: stray arguments %v", svc.Command, args)
	}
	return cmd, nil
}

// rationServices returns the services that run the ration image, by name,
// with their commands; a service whose command does not parse is an error.
func rationServices(t *testing.T, f composeFile) map[string]*cobra.Command {
	t.Helper()
	out := make(map[string]*cobra.Command)
	for name, svc := range f.Services {
		if svc.Image != "ration:dev" {
			continue
		}
		cmd, err := rationCommand(svc)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		out[name] = cmd
	}
	return out
}

func hasFlag(cmd *cobra.Command, name string) bool {
	return cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
}

// hostPath maps a path inside svc's container to the repository file
// mounted there ("./src:dst").
func hostPath(svc composeService, inContainer string) (string, bool) {
	for _, v := range svc.Volumes {
		src, rest, ok := strings.Cut(v, ":")
		if !ok || !strings.HasPrefix(src, "./") {
			continue
		}
		dst, _, _ := strings.Cut(rest, ":")
		if inContainer == dst {
			return filepath.Join(composeRoot, src), true
		}
		if tail, ok := strings.CutPrefix(inContainer, dst+"/"); ok {
			return filepath.Join(composeRoot, src, tail), true
		}
	}
	return "", false
}

var composeVarRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}$`)

// composeVar returns the variable a value such as "${NAME:?message}" takes
// from .env, or "".
func composeVar(value string) string {
	if m := composeVarRef.FindStringSubmatch(value); m != nil {
		return m[1]
	}
	return ""
}

// TestComposeFileRunsRealCommands checks that every ration service of
// docker-compose.yml names a real subcommand with flags it accepts, that
// its RATION_* variables name real flags, and that the files it mounts and
// builds from exist.
func TestComposeFileRunsRealCommands(t *testing.T) {
	f := loadCompose(t)
	for name, svc := range f.Services {
		for _, v := range svc.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(composeRoot, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
		if svc.Image == "ration:dev" {
			if _, err := os.Stat(filepath.Join(composeRoot, svc.Build.Context, svc.Build.Dockerfile)); err != nil {
				t.Errorf("%s builds from %s: %v", name, svc.Build.Dockerfile, err)
			}
		}
	}
	services := rationServices(t, f)
	for name, cmd := range services {
		for env := range f.Services[name].Environment {
			found := env == points.SecretEnv // a secret the points routes read, not a flag

			cmd.Flags().VisitAll(func(fl *pflag.Flag) { found = found || cliconfig.EnvName(fl.Name) == env })
			cmd.InheritedFlags().VisitAll(func(fl *pflag.Flag) { found = found || cliconfig.EnvName(fl.Name) == env })
			if !found {
				t.Errorf("%s: %s sets no flag of %v", name, env, f.Services[name].Command)
			}
		}
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"api", "points-worker", "receipts-worker", "reprocess", "sim", "sim-logistics", "sim-tax", "sink", "worker"}
	if !slices.Equal(names, want) {
		t.Errorf("ration services %v, want %v", names, want)
	}
}

// kafkaEnv is the variable of the Kafka nodes' start script
// (deploy/kafka/start.sh) that sets property: "_" for ".", "__" for "_",
// "___" for "-".
func kafkaEnv(property string) string {
	r := strings.NewReplacer("-", "___", "_", "__", ".", "_")
	return "KAFKA_CFG_" + strings.ToUpper(r.Replace(property))
}

// kafkaBrokers returns the services that run a Kafka broker.
func kafkaBrokers(f composeFile) map[string]composeService {
	out := make(map[string]composeService)
	for name, svc := range f.Services {
		if strings.HasPrefix(svc.Image, "apache/kafka:") && strings.Contains(svc.Environment[kafkaEnv("process.roles")], "broker") {
			out[name] = svc
		}
	}
	return out
}

var jaasUsername = regexp.MustCompile(`username="([^"]+)"`)

// TestComposeKafkaTakesOnlyAuthenticatedClients: three brokers, whose
// every listener is SASL, checked by the StandardAuthorizer with no access
// without an ACL; ration's admin and the brokers' own users are the super
// users, the admin's SCRAM credentials formatted into the storage; topics
// and Kafka's own logs replicated 3 with min.insync 2.
func TestComposeKafkaTakesOnlyAuthenticatedClients(t *testing.T) {
	f := loadCompose(t)
	brokers := kafkaBrokers(f)
	if len(brokers) != 3 {
		t.Fatalf("%d Kafka brokers, want 3", len(brokers))
	}
	ids := make(map[string]string)
	for name, svc := range brokers {
		prop := func(p string) string { return svc.Environment[kafkaEnv(p)] }
		protocols := make(map[string]string)
		for _, kv := range strings.Split(prop("listener.security.protocol.map"), ",") {
			if l, p, ok := strings.Cut(kv, ":"); ok {
				protocols[l] = p
			}
		}
		for _, key := range []string{"listeners", "advertised.listeners"} {
			if prop(key) == "" {
				t.Errorf("%s: no %s", name, key)
			}
			for _, l := range strings.Split(prop(key), ",") {
				listener, _, _ := strings.Cut(l, "://")
				protocol, ok := protocols[listener]
				if !ok {
					protocol = listener
				}
				if !strings.HasPrefix(protocol, "SASL_") {
					t.Errorf("%s: %s %s is %s, want SASL", name, key, l, protocol)
				}
			}
		}
		if len(svc.Ports) > 0 {
			t.Errorf("%s publishes %v: Kafka stays on the compose network", name, svc.Ports)
		}
		for p, want := range map[string]string{
			"authorizer.class.name":                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"allow.everyone.if.no.acl.found":           "false",
			"default.replication.factor":               "3",
			"min.insync.replicas":                      "2",
			"offsets.topic.replication.factor":         "3",
			"transaction.state.log.replication.factor": "3",
			"transaction.state.log.min.isr":            "2",
			"auto.create.topics.enable":                "false",
		} {
			if got := prop(p); got != want {
				t.Errorf("%s: %s=%q, want %q", name, p, got, want)
			}
		}
		supers := strings.Split(prop("super.users"), ";")
		users := []string{"ration-admin"}
		for _, jaas := range []string{
			"listener.name." + strings.ToLower(prop("inter.broker.listener.name")) + ".scram-sha-512.sasl.jaas.config",
			"listener.name." + strings.ToLower(prop("controller.listener.names")) + ".plain.sasl.jaas.config",
		} {
			m := jaasUsername.FindStringSubmatch(prop(jaas))
			if m == nil {
				t.Errorf("%s: no user in %s", name, jaas)
				continue
			}
			users = append(users, m[1])
		}
		for _, u := range users {
			if !slices.Contains(supers, "User:"+u) {
				t.Errorf("%s: super.users %q lacks User:%s", name, prop("super.users"), u)
			}
		}
		id := prop("node.id")
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s are both node %s", name, other, id)
		}
		ids[id] = name
		for other, o := range brokers {
			voter := o.Environment[kafkaEnv("node.id")] + "@" + other + ":"
			if !strings.Contains(prop("controller.quorum.voters"), voter) {
				t.Errorf("%s: controller.quorum.voters %q lacks %s", name, prop("controller.quorum.voters"), voter)
			}
		}
		checkAdminFormatted(t, name, svc)
	}
}

// checkAdminFormatted checks that the script a Kafka node starts with
// formats its storage with ration-admin's SCRAM credentials (README,
// "Kafka users and ACLs"), the password from .env.
func checkAdminFormatted(t *testing.T, name string, svc composeService) {
	t.Helper()
	if composeVar(svc.Environment["KAFKA_ADMIN_PASSWORD"]) == "" {
		t.Errorf("%s: KAFKA_ADMIN_PASSWORD=%q, want a variable of .env", name, svc.Environment["KAFKA_ADMIN_PASSWORD"])
	}
	var script string
	for _, arg := range svc.Entrypoint {
		if p, ok := hostPath(svc, arg); ok {
			script = p
		}
	}
	if script == "" {
		t.Errorf("%s: entrypoint %v runs no mounted script", name, svc.Entrypoint)
		return
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kafka-storage.sh\" format", "--add-scram \"SCRAM-SHA-512=[name=ration-admin,password=$KAFKA_ADMIN_PASSWORD]\"", "kafka-server-start.sh"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s: %s does not run %s", name, script, want)
		}
	}
}

// TestComposeClientsLogIn: every ration role logs in to Kafka, as
// ration-admin or, for a worker, as the user its registration creates
// (worker-PIPELINE, the password that register-workers.sh puts in .env);
// the schema registry and Kafka UI log in with SASL too; the roles that
// use ClickHouse log in as its user ration, whose password .env holds.
func TestComposeClientsLogIn(t *testing.T) {
	f := loadCompose(t)
	var adminVar string
	for _, svc := range kafkaBrokers(f) {
		adminVar = composeVar(svc.Environment["KAFKA_ADMIN_PASSWORD"])
	}
	chUser, chVar := clickhouseRationLogin(t, f)
	for name, cmd := range rationServices(t, f) {
		env := f.Services[name].Environment
		if hasFlag(cmd, "kafka-user") {
			user, passVar := env["RATION_KAFKA_USER"], composeVar(env["RATION_KAFKA_PASSWORD"])
			wantUser, wantVar := "ration-admin", adminVar
			if cmd.Parent() != nil && cmd.Parent().Name() == "worker" {
				wantUser = "worker-" + cmd.Name()
				wantVar = "WORKER_" + strings.ToUpper(cmd.Name()) + "_KAFKA_PASSWORD"
				if !slices.Contains(f.Services[name].Profiles, "workers") {
					t.Errorf("%s: not in the profile workers, which starts once the workers are registered", name)
				}
			}
			if user != wantUser || passVar != wantVar || wantVar == "" {
				t.Errorf("%s logs in to Kafka as %q with %q, want %s with ${%s}", name, user, env["RATION_KAFKA_PASSWORD"], wantUser, wantVar)
			}
		}
		if hasFlag(cmd, "clickhouse-user") {
			if env["RATION_CLICKHOUSE_USER"] != chUser || composeVar(env["RATION_CLICKHOUSE_PASSWORD"]) != chVar {
				t.Errorf("%s logs in to ClickHouse as %q with %q, want %s with ${%s}", name,
					env["RATION_CLICKHOUSE_USER"], env["RATION_CLICKHOUSE_PASSWORD"], chUser, chVar)
			}
		}
	}
	for name, prefix := range map[string]string{"schema-registry": "SCHEMA_REGISTRY_KAFKASTORE_", "kafka-ui": "KAFKA_CLUSTERS_0_PROPERTIES_"} {
		env := f.Services[name].Environment
		if env[prefix+"SECURITY_PROTOCOL"] != "SASL_PLAINTEXT" || env[prefix+"SASL_MECHANISM"] != "SCRAM-SHA-512" ||
			!jaasUsername.MatchString(env[prefix+"SASL_JAAS_CONFIG"]) {
			t.Errorf("%s does not log in to Kafka with SCRAM-SHA-512: %v", name, env)
		}
	}
}

// clickhouseUsers is the part of a ClickHouse users file these tests read.
type clickhouseUsers struct {
	Profiles struct {
		List []struct {
			XMLName  xml.Name
			Readonly string `xml:"readonly"`
		} `xml:",any"`
	} `xml:"profiles"`
	Users struct {
		List []struct {
			XMLName  xml.Name
			Password *struct {
				FromEnv string `xml:"from_env,attr"`
				Value   string `xml:",chardata"`
			} `xml:"password"`
			Networks []string `xml:"networks>ip"`
			Profile  string   `xml:"profile"`
			Grants   []string `xml:"grants>query"`
		} `xml:",any"`
	} `xml:"users"`
}

// clickhouseRationLogin checks the users file mounted into the ClickHouse
// service: ration with a password from the environment, the read-only
// analyst, default answering on loopback only. It returns ration's user
// and the .env variable of its password.
func clickhouseRationLogin(t *testing.T, f composeFile) (user, passVar string) {
	t.Helper()
	svc, ok := f.Services["clickhouse"]
	if !ok {
		t.Fatal("no clickhouse service")
	}
	var users clickhouseUsers
	found := false
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[1], "/etc/clickhouse-server/users.d/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(composeRoot, parts[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(b, &users); err != nil {
			t.Fatalf("%s: %v", parts[0], err)
		}
		found = true
	}
	if !found {
		t.Fatal("clickhouse mounts no users.d file")
	}
	readonly := make(map[string]bool)
	for _, p := range users.Profiles.List {
		readonly[p.XMLName.Local] = p.Readonly == "1" || p.Readonly == "2"
	}
	seen := make(map[string]bool)
	for _, u := range users.Users.List {
		name := u.XMLName.Local
		seen[name] = true
		switch name {
		case "default":
			for _, ip := range u.Networks {
				if ip != "127.0.0.1" && ip != "::1" {
					t.Errorf("ClickHouse's default user, who has no password, is reachable from %s", ip)
				}
			}
			if len(u.Networks) == 0 {
				t.Error("ClickHouse's default user, who has no password, keeps the image's networks (any)")
			}
		case "ration", "analyst":
			if u.Password == nil || u.Password.FromEnv == "" || strings.TrimSpace(u.Password.Value) != "" {
				t.Errorf("ClickHouse user %s: want a password from the environment, not in the file", name)
				continue
			}
			v := composeVar(svc.Environment[u.Password.FromEnv])
			if v == "" {
				t.Errorf("ClickHouse user %s: its password %s is %q in the service, want a variable of .env",
					name, u.Password.FromEnv, svc.Environment[u.Password.FromEnv])
			}
			if name == "ration" {
				user, passVar = name, v
				continue
			}
			if !readonly[u.Profile] {
				t.Errorf("ClickHouse user analyst has profile %q, want a read-only one", u.Profile)
			}
			for _, g := range u.Grants {
				if !strings.HasPrefix(g, "GRANT SELECT ON ") {
					t.Errorf("ClickHouse user analyst: %q, want SELECT only", g)
				}
			}
		}
	}
	for _, name := range []string{"default", "ration", "analyst"} {
		if !seen[name] {
			t.Errorf("ClickHouse users file: no user %s", name)
		}
	}
	return user, passVar
}

// TestComposePublishesOnLoopbackOnly: a published port is bound to
// 127.0.0.1, so nothing is reachable from other hosts without a proxy
// in front.
func TestComposePublishesOnLoopbackOnly(t *testing.T) {
	for name, svc := range loadCompose(t).Services {
		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q on every interface", name, p)
			}
		}
	}
}

// TestComposeDashboardsAreProvisioned: Prometheus scrapes every ration role
// on the address it serves /metrics on; Grafana's provisioning names the
// data source and the directory of dashboards mounted into it; every
// dashboard parses and queries that data source. (That the dashboards
// query only metrics ration serves is internal/devstack's
// TestDashboardsQueryServedMetrics.)
func TestComposeDashboardsAreProvisioned(t *testing.T) {
	f := loadCompose(t)
	scraped := prometheusTargets(t, f)
	for name, cmd := range rationServices(t, f) {
		addr := ""
		if fl := cmd.Flags().Lookup("metrics"); fl != nil {
			addr = fl.Value.String()
		} else if cmd.Name() == "api" {
			addr = cmd.Flags().Lookup("http").Value.String()
		}
		if addr == "" {
			continue // the simulators serve no metrics
		}
		_, port, _ := strings.Cut(addr, ":")
		if !scraped[name+":"+port] {
			t.Errorf("Prometheus does not scrape %s on %s", name, port)
		}
	}

	grafana := f.Services["grafana"]
	provisioned := func(file string) string {
		t.Helper()
		p, ok := hostPath(grafana, "/etc/grafana/provisioning/"+file)
		if !ok {
			t.Fatalf("grafana: /etc/grafana/provisioning/%s is not mounted from the repository", file)
		}
		return p
	}
	var sources struct {
		Datasources []struct{ Name, UID, Type, URL string }
	}
	readYAML(t, provisioned("datasources/prometheus.yml"), &sources)
	if len(sources.Datasources) != 1 || sources.Datasources[0].Type != "prometheus" || sources.Datasources[0].UID == "" {
		t.Fatalf("grafana data sources %+v, want the one Prometheus with a uid", sources.Datasources)
	}
	ds := sources.Datasources[0]
	if host := strings.TrimPrefix(ds.URL, "http://"); !strings.HasPrefix(host, "prometheus:") {
		t.Errorf("grafana data source at %s, want the prometheus service", ds.URL)
	}
	var providers struct {
		Providers []struct {
			Options struct{ Path string }
		}
	}
	readYAML(t, provisioned("dashboards/ration.yml"), &providers)
	if len(providers.Providers) == 0 {
		t.Fatal("grafana: no dashboard provider")
	}
	if home := grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if p, ok := hostPath(grafana, home); !ok {
			t.Errorf("grafana: home dashboard %s is not mounted from the repository", home)
		} else if _, err := os.Stat(p); err != nil {
			t.Errorf("grafana: home dashboard: %v", err)
		}
	}
	uids := make(map[string]string)
	for _, p := range providers.Providers {
		dir, ok := hostPath(grafana, p.Options.Path)
		if !ok {
			t.Errorf("grafana: dashboards from %s, which is not mounted from the repository", p.Options.Path)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(files) == 0 {
			t.Errorf("grafana: no dashboards in %s", dir)
		}
		for _, file := range files {
			checkDashboard(t, file, ds.UID, uids)
		}
	}
}

// prometheusTargets returns the host:port pairs the Prometheus service's
// configuration scrapes, static or found by DNS.
func prometheusTargets(t *testing.T, f composeFile) map[string]bool {
	t.Helper()
	file, ok := hostPath(f.Services["prometheus"], "/etc/prometheus/prometheus.yml")
	if !ok {
		t.Fatal("prometheus: its configuration is not mounted from the repository")
	}
	var cfg struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
			DNSSDConfigs  []struct {
				Names []string
				Port  int
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, file, &cfg)
	out := make(map[string]bool)
	for _, sc := range cfg.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			for _, target := range s.Targets {
				out[target] = true
			}
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				out[fmt.Sprintf("%s:%d", n, d.Port)] = true
			}
		}
	}
	return out
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// checkDashboard checks that file is a dashboard with a title and a uid of
// its own (recorded in uids) whose panels, their queries and its
// variables use the data source dsUID.
func checkDashboard(t *testing.T, file, dsUID string, uids map[string]string) {
	t.Helper()
	d, err := grafana.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(file)
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: uid %q, title %q: want both", name, d.UID, d.Title)
	}
	if other, dup := uids[d.UID]; dup {
		t.Errorf("%s and %s have the same uid %s", name, other, d.UID)
	}
	uids[d.UID] = name
	usesSource := func(what string, s *grafana.Source) {
		if s == nil || s.UID != dsUID {
			t.Errorf("%s: %s queries data source %+v, want uid %s", name, what, s, dsUID)
		}
	}
	for _, p := range d.Panels {
		usesSource(fmt.Sprintf("panel %q", p.Title), p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", name, p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: panel %q has an empty query", name, p.Title)
			}
			if tg.Datasource != nil {
				usesSource(fmt.Sprintf("a query of panel %q", p.Title), tg.Datasource)
			}
		}
	}
	for _, v := range d.Variables {
		usesSource("variable "+v.Name, v.Datasource)
	}
}
