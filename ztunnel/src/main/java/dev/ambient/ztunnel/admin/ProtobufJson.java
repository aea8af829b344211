package dev.ambient.ztunnel.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.google.protobuf.ListValue;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Value;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Protobuf messages inside the config (the xDS node metadata is a {@link Struct}): Struct, Value
 * and ListValue as the JSON they stand for, any other message as its one-line text format. Jackson's
 * bean introspection must never see a message (its accessors are cyclic).
 */
final class ProtobufJson extends StdSerializer<Message> {
  private static final long serialVersionUID = 1L;

  ProtobufJson() {
    super(Message.class);
  }

  @Override
  public void serialize(Message m, JsonGenerator g, SerializerProvider p) throws IOException {
    switch (m) {
      case Struct s -> struct(s, g);
      case Value v -> value(v, g);
      case ListValue l -> list(l, g);
      default -> g.writeString(TextFormat.shortDebugString(m));
    }
  }

  private static void struct(Struct s, JsonGenerator g) throws IOException {
    g.writeStartObject();
    for (Map.Entry<String, Value> e : new TreeMap<>(s.getFieldsMap()).entrySet()) {
      g.writeFieldName(e.getKey());
      value(e.getValue(), g);
    }
    g.writeEndObject();
  }

  private static void list(ListValue l, JsonGenerator g) throws IOException {
    g.writeStartArray();
    for (Value v : l.getValuesList()) {
      value(v, g);
    }
    g.writeEndArray();
  }

  private static void value(Value v, JsonGenerator g) throws IOException {
    switch (v.getKindCase()) {
      case NULL_VALUE, KIND_NOT_SET -> g.writeNull();
      case NUMBER_VALUE -> g.writeNumber(v.getNumberValue());
      case STRING_VALUE -> g.writeString(v.getStringValue());
      case BOOL_VALUE -> g.writeBoolean(v.getBoolValue());
      case STRUCT_VALUE -> struct(v.getStructValue(), g);
      case LIST_VALUE -> list(v.getListValue(), g);
    }
  }
}
