/*
 * pbjson.h: the canonical proto3 JSON mapping for protobuf-c messages.
 *
 * protobuf-c has no JSON support, so this module walks the generated
 * descriptors. It follows the proto3 JSON mapping that Google's runtimes
 * use, so a line written by any protobuf tool (Python's
 * json_format.MessageToJson, Java's JsonFormat, Go's protojson) parses here:
 *   - field names in lowerCamelCase; the original snake_case name is also
 *     accepted when parsing;
 *   - int64/uint64 written as decimal strings; parsed from strings or
 *     integral numbers; int32/uint32 as numbers (strings also accepted);
 *   - enums written by value name; parsed from names or numbers (a number
 *     the enum does not define is kept, as protobuf does: validation is the
 *     caller's job);
 *   - bytes as standard base64 (URL-safe base64 also accepted);
 *   - fields with default values (0, "", false, empty lists) are omitted
 *     when writing, except the one set member of a oneof, which is written
 *     even at its default; null as a value means "default";
 *   - unknown field names are an error (with the name in the message).
 */
#ifndef DD_PBJSON_H
#define DD_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/*
 * What the list above leaves open.
 *
 * Writing:
 *   - A field is written exactly when protobuf_c_message_pack() would put it
 *     on the wire: a proto3 scalar when it is not zero, a submessage when it
 *     is not NULL (an empty one as {}), the set member of a oneof, a proto2
 *     optional field by its has_ flag. Fields in descriptor (number) order.
 *     Unknown fields that unpack kept have no JSON form and are dropped.
 *   - float and double are JSON numbers with up to 17 significant digits
 *     (exact, though not always the shortest form); NaN and the infinities
 *     are the strings "NaN", "Infinity" and "-Infinity".
 *   - protobuf-c does not check that a string field is UTF-8 when it
 *     unpacks; bytes that are not are written as U+FFFD.
 *   - Out of memory aborts, as everywhere in doudi: the results are never
 *     NULL.
 *
 * Parsing is strict. Each of these is DD_EPROTO, and no message is returned:
 * text that is not one JSON object (duplicate keys included); an unknown
 * field; a field given twice (as "personId" and "person_id"); two members of
 * one oneof (null counts as given); a value of the wrong JSON type; an
 * integer out of the field's range or not integral; an integer string that
 * is not plain decimal ("1e3", " 5", "+5"); an enum name the enum does not
 * have; a float beyond float's range; invalid base64; null inside a list; a
 * string holding NUL; messages nested deeper than 100. jansson's numbers
 * stop at 2^63-1, so larger uint64 values must be strings, which is how
 * every Google runtime writes them.
 *
 * err (may be NULL) receives one sentence that starts with the JSON path of
 * the field, e.g. "personReported.disabilityGrade: expected an integer, got
 * string \"x\"" or "householdReported.incomes[2]: null is not allowed in a
 * list"; it is cut to errlen bytes, always terminated, and "" on success.
 */

/*
 * Parses text[0..len-1] (one JSON object) into a new message of type desc,
 * allocated with protobuf-c's default allocator: free it with
 * protobuf_c_message_free_unpacked(msg, NULL). Returns 0, or DD_EPROTO with
 * a sentence in err (e.g. "field \"occurredAtMs\": expected an integer").
 */
int dd_pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *text,
                    size_t len, ProtobufCMessage **out, char *err, size_t errlen);

/* The same from an already parsed JSON object (borrowed). */
int dd_pbjson_from_json(const ProtobufCMessageDescriptor *desc, const json_t *obj,
                        ProtobufCMessage **out, char *err, size_t errlen);

/* A new JSON object for msg (caller json_decref's). */
json_t *dd_pbjson_to_json(const ProtobufCMessage *msg);

/* msg as one line of compact JSON, malloc'ed, NUL-terminated. */
char *dd_pbjson_format(const ProtobufCMessage *msg);

#endif
