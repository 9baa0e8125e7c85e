package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/codec"
)

// Settings of payload encryption and of the codec server.
const (
	// EnvPayloadKeys is the payload keyring as text (codec.ParseKeyring's format).
	EnvPayloadKeys = "OFFBOARD_PAYLOAD_KEYS"
	// EnvPayloadKeysFile is a file holding that keyring.
	EnvPayloadKeysFile = "OFFBOARD_PAYLOAD_KEYS_FILE"
	// EnvCodecOrigin is the Temporal Web UI's origin, which the codec server allows (CORS).
	EnvCodecOrigin = "OFFBOARD_CODEC_ORIGIN"
)

// payloadKeyHint says how to make a keyring, for every error about a missing or bad one.
const payloadKeyHint = "make a keyring with `starter keys payload` (a line id:base64-of-32-random-bytes)"

// PayloadCodec reads the payload keyring from OFFBOARD_PAYLOAD_KEYS_FILE or OFFBOARD_PAYLOAD_KEYS
// and returns the codec that encrypts every payload under its current key and decodes under any
// of its keys. Neither set, both set or a malformed keyring is an error naming the setting and
// how to make a key, never showing key material: no process writes history in clear by mistake.
func (s Source) PayloadCodec() (converter.PayloadCodec, error) {
	text, label, ok, err := s.secretText(EnvPayloadKeysFile, EnvPayloadKeys)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("no payload keys: set %s (a file) or %s; %s", EnvPayloadKeysFile, EnvPayloadKeys, payloadKeyHint)
	}
	keyring, err := codec.ParseKeyring(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w; %s", label, err, payloadKeyHint)
	}
	return codec.NewCodec(keyring), nil
}

// DataConverter is the data converter of every Offboard process: the SDK's default JSON
// converter with every payload encrypted by pc. Search attributes do not go through it (the SDK
// writes them with the default converter), so they stay readable, as they must hold only IDs
// and enums.
func DataConverter(pc converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), pc)
}

// TemporalWithCodec is Temporal together with the payload codec its data converter encrypts
// with, for the process that also serves the codec server.
func (s Source) TemporalWithCodec() (client.Options, converter.PayloadCodec, error) {
	opts, errTemporal := s.temporalConnection()
	pc, errKeys := s.PayloadCodec()
	if errKeys == nil {
		opts.DataConverter = DataConverter(pc)
	}
	if errTemporal != nil || errKeys != nil {
		return client.Options{}, nil, errors.Join(errTemporal, errKeys)
	}
	return opts, pc, nil
}

// Temporal builds the Temporal client options: envconfig (TEMPORAL_CONFIG_FILE profile, then
// TEMPORAL_* variables), then --temporal-address and --temporal-namespace, with the data
// converter that encrypts every payload (PayloadCodec). Every process dials with these, so
// the worker, the HR API and the CLI read each other's payloads.
func (s Source) Temporal() (client.Options, error) {
	opts, _, err := s.TemporalWithCodec()
	return opts, err
}

// CodecOrigin reads OFFBOARD_CODEC_ORIGIN: the Temporal Web UI's origin, scheme://host[:port]
// with no path, as browsers send it in their Origin header; empty when unset.
func (s Source) CodecOrigin() (string, error) {
	v, label, ok := s.get(EnvCodecOrigin)
	if !ok {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%s=%q: want the Temporal Web UI's origin, scheme://host[:port] without a path, e.g. https://temporal-ui.example.com", label, v)
	}
	return u.Scheme + "://" + u.Host, nil
}
