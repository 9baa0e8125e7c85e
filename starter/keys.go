package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// keysCmd manages the HR API's decision signing key and makes payload keys.
func (c *cli) keysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Make and show the HR API's decision signing key; make payload keys"}
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
	keys.AddCommand(gen, public, c.payloadKeyCmd())
	return keys
}

// payloadKeyCmd prints a new payload key as a keyring line.
func (c *cli) payloadKeyCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "payload [--id <key-id>]",
		Short: "Print a new AES-256 payload key as a keyring line (id:base64) for " + config.EnvPayloadKeysFile,
		Long: "Print a new AES-256 payload key as a keyring line, id:base64-of-32-random-bytes.\n\n" +
			"A new keyring is that one line, in the file " + config.EnvPayloadKeysFile + " names (mode 0600) or in " + config.EnvPayloadKeys + ".\n" +
			"To rotate, put the new line first (the first line, or the one marked with a leading *, is current) and keep\n" +
			"the old lines for as long as any history encrypted with them is kept; give every worker, the HR API and\n" +
			"the CLI the same keyring.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				now := time.Now
				if c.Now != nil {
					now = c.Now
				}
				id = "k" + now().UTC().Format("20060102") + "-" + randomHex(2)
			}
			key := make([]byte, codec.KeySize)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			line := id + ":" + base64.StdEncoding.EncodeToString(key)
			if _, err := codec.ParseKeyring(line); err != nil {
				return fmt.Errorf("--id %q: %w", id, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key ID, in clear in every payload it encrypts: A-Z a-z 0-9 . _ - (default k<date>-<random>)")
	return cmd
}
