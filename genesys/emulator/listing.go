package emulator

import (
	"cmp"
	"net/url"
	"strconv"
)

// paging is a validated pageSize and pageNumber.
type paging struct{ size, number int }

// parsePaging reads pageSize (default 25, at most limit) and pageNumber (default 1).
func parsePaging(qs url.Values, limit int) (paging, error) {
	size, err1 := pageSizeParam(qs, 25, limit)
	number, err2 := intParam(qs, "pageNumber", 1)
	if err2 != nil {
		err2 = errBadRequest(err2.Error())
	}
	return paging{size: size, number: number}, cmp.Or(err1, err2)
}

// window is the part of n items that the page holds: [from, to).
func (p paging) window(n int) (from, to int) {
	from = min((p.number-1)*p.size, n)
	return from, min(from+p.size, n)
}

// pageOf renders page p of items (each through render) as a Genesys entity listing of path
// with query qs: entities, paging and the URIs. totals adds total, pageCount and lastUri, which
// some listings (queue members) do not have.
func pageOf[T any](path string, qs url.Values, p paging, items []T, totals bool, render func(T) any) map[string]any {
	from, to := p.window(len(items))
	entities := make([]any, 0, to-from)
	for _, it := range items[from:to] {
		entities = append(entities, render(it))
	}
	uri := func(n int) string {
		v := url.Values{}
		for k, vs := range qs {
			v[k] = vs
		}
		v.Set("pageSize", strconv.Itoa(p.size))
		v.Set("pageNumber", strconv.Itoa(n))
		return path + "?" + v.Encode()
	}
	pageCount := (len(items) + p.size - 1) / p.size
	out := map[string]any{"entities": entities, "pageSize": p.size, "pageNumber": p.number,
		"firstUri": uri(1), "selfUri": uri(p.number)}
	if totals {
		out["total"], out["pageCount"], out["lastUri"] = len(items), pageCount, uri(max(pageCount, 1))
	}
	if p.number < pageCount {
		out["nextUri"] = uri(p.number + 1)
	}
	if p.number > 1 {
		out["previousUri"] = uri(p.number - 1)
	}
	return out
}
