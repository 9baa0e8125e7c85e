package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// keysCmd manages the HR API's decision signing key.
func (c *cli) keysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Make and show the HR API's decision signing key"}
	var out string
	gen := &cobra.Command{
		Use:   "generate --out <file>",
		Short: "Write a new Ed25519 signing key (PEM, mode 0600) and print its public key for " + workflows.EnvDecisionKeys,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required: the file to write the private key to")
			}
			key, err := credential.GenerateKey()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("write the key: %w (an existing key is never overwritten)", err)
			}
			if _, err := f.Write(credential.EncodePrivateKey(key)); err != nil {
				_ = f.Close()
				return fmt.Errorf("write the key: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write the key: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s. Give it to the HR API as %s, and put this public key in the workers' and the HR API's %s:\n%s\n",
				out, config.EnvDecisionSigningKeyFile, workflows.EnvDecisionKeys, credential.EncodePublicKey(key.Public().(ed25519.PublicKey)))
			return nil
		},
	}
	gen.Flags().StringVar(&out, "out", "", "file to write the private key to; never overwritten")
	public := &cobra.Command{
		Use:   "public",
		Short: "Print the public key of the configured signing key (" + config.EnvDecisionSigningKeyFile + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			signer, err := c.source(cmd).Signer(hrapi.Issuer)
			if err != nil {
				return err
			}
			if signer == nil {
				return fmt.Errorf("no signing key: set %s", config.EnvDecisionSigningKeyFile)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", credential.EncodePublicKey(signer.PublicKey()))
			return nil
		},
	}
	config.AddFlags(public.Flags(), config.EnvDecisionSigningKeyFile)
	keys.AddCommand(gen, public)
	return keys
}
