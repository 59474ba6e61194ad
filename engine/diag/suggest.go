package diag

import "strings"

// Suggest returns the word of known nearest to w, ignoring case, when it is
// close enough to be a likely typo — at most two edits away, one for known
// words of four bytes or fewer, where two edits reach almost anything — or
// "". Of equally near words the first wins.
func Suggest(w string, known []string) string {
	lw := strings.ToLower(w)
	best, bestD := "", 3
	for _, k := range known {
		d := Distance(lw, strings.ToLower(k))
		limit := 2
		if len(k) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// Distance is the optimal string alignment distance between a and b, over
// runes: insertions, deletions, substitutions and transpositions of
// neighbours ("laod" is one step from "load", the commonest typo of all).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
