package wechattest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The request parsing as it was before splitObject, through json.Unmarshal: the reference
// FuzzParseRequest checks parseRequest, jobj.obj, jobj.arr and jobj.str against.

func parseRequestUnmarshal(b []byte) (jobj, bool) {
	var o jobj
	if err := json.Unmarshal(keepSlashEscapes(b), &o); err != nil || o == nil {
		return nil, false
	}
	return o, true
}

func objUnmarshal(raw json.RawMessage) (jobj, bool) {
	var v jobj
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil, false
	}
	return v, true
}

func arrUnmarshal(raw json.RawMessage) ([]json.RawMessage, bool) {
	var v []json.RawMessage
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil, false
	}
	return v, true
}

func strUnmarshal(raw json.RawMessage) (string, bool) {
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

// checkRequest checks every reading of body against the reference, down to depth levels of
// nested objects and arrays.
func checkRequest(t *testing.T, body []byte) {
	got, gotOK := parseRequest(body)
	want, wantOK := parseRequestUnmarshal(body)
	if gotOK != wantOK || !reflect.DeepEqual(got, want) {
		t.Fatalf("parseRequest(%q) = %q, %v; json.Unmarshal gives %q, %v", body, got, gotOK, want, wantOK)
	}
	checkMembers(t, got, 4)
}

func checkMembers(t *testing.T, o jobj, depth int) {
	for k, raw := range o {
		so, sok := o.obj(k)
		wo, wok := objUnmarshal(raw)
		if sok != wok || !reflect.DeepEqual(so, wo) {
			t.Fatalf("obj(%q) of %q = %q, %v; json.Unmarshal gives %q, %v", k, raw, so, sok, wo, wok)
		}
		sa, aok := o.arr(k)
		wa, waok := arrUnmarshal(raw)
		if aok != waok || !reflect.DeepEqual(sa, wa) {
			t.Fatalf("arr(%q) of %q = %q, %v; json.Unmarshal gives %q, %v", k, raw, sa, aok, wa, waok)
		}
		ss, ssok := o.str(k)
		ws, wsok := strUnmarshal(raw)
		if ss != ws || ssok != wsok {
			t.Fatalf("str(%q) of %q = %q, %v; json.Unmarshal gives %q, %v", k, raw, ss, ssok, ws, wsok)
		}
		if depth > 0 {
			if sok {
				checkMembers(t, so, depth-1)
			}
			for _, e := range sa {
				if eo, ok := splitObject(e); ok {
					checkMembers(t, eo, depth-1)
				}
			}
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"BaseRequest":{"Uin":2212345678,"Sid":"abc","Skey":"@crypt_1\/2","DeviceID":"e1"},"SyncKey":{"Count":2,"List":[{"Key":1,"Val":636},{"Key":2,"Val":"7"}]},"rr":-1890000001}`,
		`{"a":1,"a":2,"b":null,"c":[],"d":{},"e":"x\u00e9\ud83d\ude00","f":"\ud800","g":true,"h":[1,"2",{"i":[null]}]}`,
		"{\"\\u0041\": 1, \"k\xff\": \"v\xff\" ,\n\t\"n\":-1.5e3 }",
		`null`, `[]`, `"s"`, `{} x`, `{"a":}`, `{"a":"\/"}`, ` {"a" : [ 1 , 2 ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkRequest(t, body)
	})
}
