package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rationhq/ration/pipelines"

	"github.com/spf13/cobra"
)

func newClientsCmd(_ *globals) *cobra.Command {
	f := defaultAPIFlags()
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Register, list and revoke API clients and workers (admin key)",
		Long: `Client management through ration's HTTP API (--api, or RATION_API), with
an admin key (--key, or RATION_API_KEY). A new client's key or password is
printed once and kept nowhere: store it now.`,
	}
	f.bind(cmd.PersistentFlags())
	cmd.AddCommand(clientsAddCmd(&f), clientsListCmd(&f), clientsRevokeCmd(&f), clientsAuditCmd(&f))
	return cmd
}

func clientsAddCmd(f *apiFlags) *cobra.Command {
	var (
		scope, pipeline string
		worker          bool
	)
	cmd := &cobra.Command{
		Use:   "add NAME (--scope read|write|admin | --worker --pipeline P)",
		Short: "Register an API client (prints its key) or a worker (prints its Kafka credentials)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if worker {
				if pipeline == "" || scope != "" {
					return errors.New("--worker needs --pipeline and takes no --scope")
				}
				w, err := f.client().AddWorker(cmd.Context(), args[0], pipeline)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "worker %s registered for pipeline %s; its Kafka credentials (shown once):\n", w.Name, w.Pipeline)
				fmt.Fprintf(out, "sasl_mechanism=%s\nusername=%s\npassword=%s\n", w.SASLMechanism, w.Username, w.Password)
				return nil
			}
			if scope == "" || pipeline != "" {
				return errors.New("an API client needs --scope read, write or admin (or --worker --pipeline P)")
			}
			c, err := f.client().AddAPIClient(cmd.Context(), args[0], scope)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "client %s registered with scope %s; its key (shown once):\n%s\n", c.Name, c.Scope, c.Key)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&scope, "scope", "", "read, write or admin")
	fs.BoolVar(&worker, "worker", false, "register a worker (Kafka credentials) instead of an API client")
	fs.StringVar(&pipeline, "pipeline", "", fmt.Sprintf("the worker's pipeline (%s)", strings.Join(pipelines.Names(pipelines.All()), ", ")))
	return cmd
}

func clientsListCmd(f *apiFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every client (never a secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := f.client().Clients(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndented(cmd.OutOrStdout(), cs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tSCOPE\tPIPELINE\tCREATED\tREVOKED")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", c.Name, c.Kind, orDash(&c.Scope), orDash(&c.Pipeline), stampOr(c.CreatedAt, "-"), c.Revoked)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func clientsRevokeCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a client: its key (or Kafka credentials) stop working everywhere within seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client().RevokeClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "client %s revoked\n", c.Name)
			return nil
		},
	}
}

func clientsAuditCmd(f *apiFlags) *cobra.Command {
	var (
		client string
		since  time.Duration
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log: authenticated writes and client management, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			es, err := f.client().Audit(cmd.Context(), client, from, limit)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, e := range es {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&client, "client", "", "only this client's entries")
	fs.DurationVar(&since, "since", 0, "only entries this recent (e.g. 24h; 0: all)")
	fs.IntVar(&limit, "limit", 100, "most entries")
	return cmd
}
