package codec

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
)

// BenchmarkCodec compares encrypting with and without zstd before encryption, on a user
// snapshot (40 roles) and a small credential payload; it reports the encrypted size.
//
// Figures (go test -bench Codec -benchmem, 2 shared cores):
//
// FIGURES
func BenchmarkCodec(b *testing.B) {
	payloads := map[string]*commonpb.Payload{
		"snapshot":   snapshotPayload(b, 40),
		"snapshot-3": snapshotPayload(b, 3),
		"credential": credentialPayload(b),
	}
	for _, name := range []string{"snapshot", "snapshot-3", "credential"} {
		for _, mode := range []struct {
			label string
			opts  Options
		}{{"plain", Options{CompressFrom: -1}}, {"zstd", Options{CompressFrom: 1}}, {"default", Options{}}} {
			b.Run(name+"/"+mode.label, func(b *testing.B) {
				c := mustCodec(b, "k1:"+testKey(1), mode.opts)
				in := []*commonpb.Payload{payloads[name]}
				var size int
				for b.Loop() {
					enc, err := c.Encode(in)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := c.Decode(enc); err != nil {
						b.Fatal(err)
					}
					size = len(enc[0].Data)
				}
				b.ReportMetric(float64(in[0].Size()), "in-bytes")
				b.ReportMetric(float64(size), "enc-bytes")
			})
		}
	}
}
