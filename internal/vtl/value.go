package vtl

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Template values are nil (Java null), string, bool, int64 (Integer/Long),
// float64 (Double), *list, *omap, *entry, *block, *foreachScope and the
// $input/$util objects. Lists and maps are mutable (put/add), like the
// Java collections they stand for.

// list is a java.util.List. jsonText marks lists that come from parsed
// JSON ($input.path, $util.parseJson): API Gateway's JSON library renders
// those as compact JSON ("[1,2]") where an ArrayList renders "[1, 2]".
type list struct {
	items    []any
	jsonText bool
}

// omap is a java.util.LinkedHashMap with string keys: insertion ordered.
type omap struct {
	keys []string
	vals map[string]any
}

// entry is a Map.Entry from entrySet().
type entry struct {
	key string
	val any
}

// block is the body of a #define, rendered when referenced.
type block struct {
	nodes []node
}

// foreachScope is $foreach inside a #foreach.
type foreachScope struct {
	index   int
	hasNext bool
	parent  *foreachScope
}

func newMap(n int) *omap { return &omap{keys: make([]string, 0, n), vals: make(map[string]any, n)} }

func (m *omap) get(k string) (any, bool) {
	v, ok := m.vals[k]
	return v, ok
}

// put returns the previous value, as Map.put does.
func (m *omap) put(k string, v any) any {
	old, ok := m.vals[k]
	if !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
	return old
}

func (m *omap) remove(k string) any {
	old, ok := m.vals[k]
	if !ok {
		return nil
	}
	delete(m.vals, k)
	if i := slices.Index(m.keys, k); i >= 0 {
		m.keys = slices.Delete(m.keys, i, i+1)
	}
	return old
}

// truthy is Velocity's condition rule: null and false are false,
// everything else (including "" and 0) is true.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	return true
}

// javaDouble formats f as Java's Double.toString does: plain decimal with
// at least one fraction digit between 1e-3 and 1e7, computerized
// scientific notation ("1.0E10") outside.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// scalarString renders the values that need no budget.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return javaDouble(v), true
	case nil:
		return "null", true
	}
	return "", false
}

// fromGo converts a caller-supplied Go value into a template value. Maps
// become ordered maps with sorted keys so keySet() is deterministic.
func fromGo(v any, depth int) (any, error) {
	if depth > 64 {
		return nil, fmt.Errorf("value nested deeper than 64 levels")
	}
	switch v := v.(type) {
	case nil, string, bool, int64, float64, *list, *omap:
		return v, nil
	case int:
		return int64(v), nil
	case int8:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case uint8:
		return int64(v), nil
	case uint16:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint:
		if uint64(v) > math.MaxInt64 {
			return float64(v), nil
		}
		return int64(v), nil
	case uint64:
		if v > math.MaxInt64 {
			return float64(v), nil
		}
		return int64(v), nil
	case float32:
		return float64(v), nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, nil
		}
		f, _ := v.Float64()
		return f, nil
	case []byte:
		return string(v), nil
	case map[string]string:
		m := newMap(len(v))
		for _, k := range sortedKeys(v) {
			m.put(k, v[k])
		}
		return m, nil
	case map[string]any:
		m := newMap(len(v))
		for _, k := range sortedKeys(v) {
			x, err := fromGo(v[k], depth+1)
			if err != nil {
				return nil, err
			}
			m.put(k, x)
		}
		return m, nil
	case []string:
		l := &list{items: make([]any, len(v))}
		for i, s := range v {
			l.items[i] = s
		}
		return l, nil
	case []any:
		l := &list{items: make([]any, len(v))}
		for i, x := range v {
			y, err := fromGo(x, depth+1)
			if err != nil {
				return nil, err
			}
			l.items[i] = y
		}
		return l, nil
	case fmt.Stringer:
		return v.String(), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			keys := rv.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			m := newMap(len(keys))
			for _, k := range keys {
				x, err := fromGo(rv.MapIndex(k).Interface(), depth+1)
				if err != nil {
					return nil, err
				}
				m.put(k.String(), x)
			}
			return m, nil
		}
	case reflect.Slice, reflect.Array:
		l := &list{items: make([]any, rv.Len())}
		for i := range rv.Len() {
			x, err := fromGo(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			l.items[i] = x
		}
		return l, nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return fromGo(rv.Elem().Interface(), depth+1)
	}
	return fmt.Sprint(v), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// toFloat converts a numeric value.
func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

// compareNumbers returns -1, 0 or 1.
func compareNumbers(a, b any) int {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	x, _ := toFloat(a)
	y, _ := toFloat(b)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
