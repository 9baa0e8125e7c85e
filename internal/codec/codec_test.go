package codec

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func Test_GivenPayloads_ShouldDecodeWhatWasEncoded(t *testing.T) {
	for name, opts := range map[string]Options{"default": {}, "never compressed": {CompressFrom: -1}, "always compressed": {CompressFrom: 1}} {
		t.Run(name, func(t *testing.T) {
			c := mustCodec(t, "k1:"+testKey(1), opts)
			in := []*commonpb.Payload{snapshotPayload(t, 40), snapshotPayload(t, 3), credentialPayload(t)}

			enc, err := c.Encode(in)
			require.NoError(t, err)
			dec, err := c.Decode(enc)
			require.NoError(t, err)

			require.Len(t, dec, len(in))
			for i := range in {
				assert.True(t, proto.Equal(in[i], dec[i]), "payload %d", i)
				assert.Equal(t, EncodingEncrypted, string(enc[i].Metadata[converter.MetadataEncoding]))
				assert.Equal(t, "k1", string(enc[i].Metadata[MetadataKeyID]))
			}
		})
	}
}

func Test_GivenALargeSnapshot_ShouldCompressItByDefault(t *testing.T) {
	enc, err := mustCodec(t, "k1:"+testKey(1), Options{}).Encode([]*commonpb.Payload{snapshotPayload(t, 40), credentialPayload(t)})

	require.NoError(t, err)
	assert.Equal(t, "zstd", string(enc[0].Metadata[MetadataCompression]))
	assert.NotContains(t, enc[1].Metadata, MetadataCompression, "a small payload is not worth compressing")
}

func Test_GivenTheSamePayloadTwice_ShouldUseAFreshNonceEachTime(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1), Options{})
	p := snapshotPayload(t, 3)

	a, err := c.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	b, err := c.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)

	assert.NotEqual(t, a[0].Data, b[0].Data)
}

func Test_GivenAPayloadWithPersonalData_ShouldHoldNeitherNameNorEmailOnceEncrypted(t *testing.T) {
	for name, opts := range map[string]Options{"compressed": {}, "not compressed": {CompressFrom: -1}} {
		t.Run(name, func(t *testing.T) {
			in := snapshotPayload(t, 40)
			require.Contains(t, string(in.Data), testEmail, "the test payload must hold the data it checks for")

			enc, err := mustCodec(t, "k1:"+testKey(1), opts).Encode([]*commonpb.Payload{in})
			require.NoError(t, err)

			raw, err := proto.Marshal(enc[0])
			require.NoError(t, err)
			for _, secret := range []string{testName, testEmail, "ada.lovelace", "Lovelace"} {
				assert.False(t, bytes.Contains(raw, []byte(secret)), "encrypted payload holds %q", secret)
			}
		})
	}
}

func Test_GivenAPayloadEncodedBeforeARotation_ShouldDecodeWithTheOldKey(t *testing.T) {
	old := mustCodec(t, "k1:"+testKey(1), Options{})
	enc, err := old.Encode([]*commonpb.Payload{snapshotPayload(t, 3)})
	require.NoError(t, err)

	rotated := mustCodec(t, "*k2:"+testKey(2)+",k1:"+testKey(1), Options{})
	dec, err := rotated.Decode(enc)
	require.NoError(t, err)
	fresh, err := rotated.Encode(dec)
	require.NoError(t, err)

	assert.True(t, proto.Equal(snapshotPayload(t, 3), dec[0]))
	assert.Equal(t, "k2", string(fresh[0].Metadata[MetadataKeyID]), "new payloads use the current key")
}

func Test_GivenAPayloadUnderAnUnknownKey_ShouldFailNamingTheKeyID(t *testing.T) {
	enc, err := mustCodec(t, "retired-2025:"+testKey(1), Options{}).Encode([]*commonpb.Payload{credentialPayload(t)})
	require.NoError(t, err)

	_, err = mustCodec(t, "k2:"+testKey(2), Options{}).Decode(enc)

	require.Error(t, err)
	assert.Contains(t, err.Error(), `"retired-2025"`)
}

func Test_GivenATamperedPayload_ShouldRefuseIt(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1)+",k2:"+testKey(2), Options{})
	tamper := map[string]func(p *commonpb.Payload){
		"flipped ciphertext bit": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"flipped nonce bit":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"truncated":              func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"key ID swapped":         func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") },
		"compression dropped":    func(p *commonpb.Payload) { delete(p.Metadata, MetadataCompression) },
		"compression unknown":    func(p *commonpb.Payload) { p.Metadata[MetadataCompression] = []byte("lz4") },
	}
	for name, change := range tamper {
		t.Run(name, func(t *testing.T) {
			enc, err := c.Encode([]*commonpb.Payload{snapshotPayload(t, 40)})
			require.NoError(t, err)
			change(enc[0])

			_, err = c.Decode(enc)

			assert.Error(t, err)
		})
	}
}

func Test_GivenAPayloadThatIsNotEncrypted_ShouldPassItThroughDecode(t *testing.T) {
	plain := snapshotPayload(t, 3)

	dec, err := mustCodec(t, "k1:"+testKey(1), Options{}).Decode([]*commonpb.Payload{plain, {}})

	require.NoError(t, err)
	assert.Same(t, plain, dec[0])
	assert.Empty(t, dec[1].Data)
}

func Test_GivenAnEncryptedPayload_ShouldNotMutateTheInput(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1), Options{})
	in := snapshotPayload(t, 40)
	before := proto.Clone(in)

	enc, err := c.Encode([]*commonpb.Payload{in})
	require.NoError(t, err)
	encBefore := proto.Clone(enc[0])
	_, err = c.Decode(enc)
	require.NoError(t, err)

	assert.True(t, proto.Equal(before, in))
	assert.True(t, proto.Equal(encBefore, enc[0]))
}

func Test_GivenNoKeyring_ShouldRefuseToBuildACodec(t *testing.T) {
	_, err := NewCodecWithOptions(nil, Options{})

	assert.Error(t, err)
}

func Test_GivenConcurrentCallers_ShouldEncodeAndDecodeForEach(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1), Options{})
	in := []*commonpb.Payload{snapshotPayload(t, 40), credentialPayload(t)}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			enc, err := c.Encode(in)
			if err == nil {
				_, err = c.Decode(enc)
			}
			errs <- err
		}()
	}
	for range 8 {
		assert.NoError(t, <-errs)
	}
}
