/* C-only driver of the Sequitur core: builds the grammar of the text given as
 * argv[1] (one event per character) and prints one "N -> ..." line per rule,
 * terminals as characters and non-terminals as rule numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sequitur.h"

int main(int argc, char **argv)
{
    const char *text = argc > 1 ? argv[1] : "";
    int64_t num_events = (int64_t)strlen(text), bad_index, r, i;
    int64_t *events = malloc((size_t)(num_events + 1) * sizeof(int64_t));
    int64_t *symbols, *offsets;
    sq_grammar *grammar;
    int code;

    for (i = 0; i < num_events; i++)
        events[i] = (unsigned char)text[i];
    code = sq_build(events, num_events, NULL, 0, &grammar, &bad_index);
    if (code != SQ_OK) {
        fprintf(stderr, "sq_build failed: %s\n", sq_error_message(code));
        return 1;
    }

    symbols = malloc((size_t)(sq_grammar_num_symbols(grammar) + 1) * sizeof(int64_t));
    offsets = malloc((size_t)(sq_grammar_num_rules(grammar) + 1) * sizeof(int64_t));
    sq_grammar_export(grammar, symbols, offsets);
    for (r = 0; r < sq_grammar_num_rules(grammar); r++) {
        printf("%lld ->", (long long)r);
        for (i = offsets[r]; i < offsets[r + 1]; i++) {
            if (symbols[i] < 0)
                printf(" %lld", (long long)-(symbols[i] + 1));
            else
                printf(" %c", (char)symbols[i]);
        }
        printf("\n");
    }
    sq_grammar_free(grammar);
    free(symbols);
    free(offsets);
    free(events);
    return 0;
}
