package codec

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func FuzzDecode(f *testing.F) {
	c := mustCodec(f, "k1:"+testKey(1), Options{})
	for _, p := range []*commonpb.Payload{snapshotPayload(f, 40), credentialPayload(f)} {
		enc, err := c.Encode([]*commonpb.Payload{p})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc[0].Data, "k1", "zstd", EncodingEncrypted)
		f.Add(enc[0].Data, "k1", "", EncodingEncrypted)
	}
	f.Add([]byte("{}"), "", "", "json/plain")
	f.Fuzz(func(t *testing.T, data []byte, keyID, compression, encoding string) {
		p := &commonpb.Payload{Data: data, Metadata: map[string][]byte{
			converter.MetadataEncoding: []byte(encoding),
			MetadataKeyID:              []byte(keyID),
			MetadataCompression:        []byte(compression),
		}}
		if compression == "" {
			delete(p.Metadata, MetadataCompression)
		}
		dec, err := c.Decode([]*commonpb.Payload{p})
		if err == nil && len(dec) != 1 {
			t.Fatalf("decoded %d payloads from one", len(dec))
		}
	})
}
