/*
 * format.h: how doudictl writes money, dates, programs and parameters for
 * people, and how it reads programs and identity numbers from them.
 *
 * Everything here is pure (no I/O but the padding helper's FILE), so it is
 * unit-tested on its own (tests/unit/test_doudictl_format.c).
 *
 * Money travels in fen (0.01 yuan) and is shown in yuan with two decimals
 * and no grouping, e.g. 123456 fen as "1234.56". Programs are shown as the
 * enum name without its prefix followed by their Chinese name ("DIBAO 低保"),
 * and accepted as either.
 */
#ifndef CTL_FORMAT_H
#define CTL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Size of a buffer that holds any amount ctl_fen_yuan writes. */
#define CTL_YUAN_MAX 32

/*
 * fen as yuan with two decimals: 0 "0.00", 5 "0.05", -123456 "-1234.56".
 * Every int64 is exact (INT64_MIN included). Returns buf.
 */
const char *ctl_fen_yuan(int64_t fen, char buf[CTL_YUAN_MAX]);

/* a + b fen, held at the int64 limits: amounts from the wire are not
 * trusted to fit. */
int64_t ctl_fen_add(int64_t a, int64_t b);

/* A doudi program (event.proto's Program). */
typedef struct ctl_program {
    int value;           /* the Program enum value, 1 to 8 */
    const char *name;    /* "DIBAO": the enum name without PROGRAM_ */
    const char *chinese; /* "低保" */
    const char *english; /* "minimum living guarantee" */
} ctl_program;

/* The programs in enum order, and how many there are. */
const ctl_program *ctl_programs(size_t *n);

/* The program with this enum value, or NULL. */
const ctl_program *ctl_program_find(int value);

/*
 * Reads a program: its short name in any case ("dibao", "DIS_LIVING", with
 * '-' for '_' too: "dis-living"), its enum name ("PROGRAM_DIBAO"), or its
 * Chinese name ("低保"). Returns the program or NULL.
 */
const ctl_program *ctl_program_parse(const char *text);

/*
 * "DIBAO 低保"; a value no program has as its number ("9"). buf holds 64
 * bytes. Returns buf.
 */
const char *ctl_program_label(int value, char buf[64]);

/*
 * The columns a terminal gives s: East Asian wide characters (CJK, Hangul,
 * full-width forms) take two, every other character one, an invalid byte
 * one.
 */
size_t ctl_display_width(const char *s);

/* Writes s and then spaces up to width display columns (none if wider). */
void ctl_put_padded(FILE *out, const char *s, size_t width);

/*
 * Writes text, which starts at display column `column` of the current line,
 * breaking it at spaces so that no line passes `width` columns where a
 * break can help (a word wider than the room left stays whole); each
 * continuation line starts with `indent` spaces. The break's space is not
 * written; no newline is written after the last line.
 */
void ctl_put_wrapped(FILE *out, const char *text, size_t column, size_t indent, size_t width);

/* YYYYMMDD as "YYYY-MM-DD"; 0 as "-"; a value that is no date as its digits. */
const char *ctl_format_date(int32_t yyyymmdd, char out[16]);

/*
 * A rule parameter's value for people: the number, and for a name ending in
 * "_fen" the amount in yuan ("90000 (900.00 yuan)"), for one ending in
 * "_permille" the percentage ("1300 (130%)", "1255 (125.5%)"). out holds
 * 96 bytes. Returns out.
 */
const char *ctl_parameter_text(const char *name, int64_t value, char out[96]);

/*
 * Reads a resident identity number as typed by a person: surrounding
 * spaces are dropped, a lower-case check character x is taken as X, and a
 * valid 15-digit number is upgraded to its 18-character form (*upgraded is
 * then true). Writes the 18 characters and a NUL to out. Returns 0, or
 * DD_EPROTO with a sentence in why (a static string) when the text is no
 * valid number on today_yyyymmdd.
 */
int ctl_person_id_read(const char *text, int32_t today_yyyymmdd, char out[19], bool *upgraded,
                       const char **why);

#endif
