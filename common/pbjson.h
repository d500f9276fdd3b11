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
