{{
    config(
        materialized='incremental',
        unique_key='order_id',
        on_schema_change='append_new_columns'
    )
}}

with orders as (

    select * from {{ ref('int_orders_enriched') }}

    {% if is_incremental() %}
    -- only orders changed since the last run
    where updated_at > (select coalesce(max(updated_at), timestamp '1900-01-01') from {{ this }})
    {% endif %}

),

history as (

    select order_id, customer_order_number, days_since_previous_order
    from {{ ref('int_customer_order_history') }}

)

select
    orders.order_id,
    orders.customer_id,
    orders.ordered_at,
    orders.order_date,
    orders.order_status,
    orders.line_count,
    orders.units,
    orders.gross_amount_cents,
    orders.paid_amount_cents,
    cast(orders.paid_amount_cents as decimal(12, 2)) / 100 as paid_amount,
    orders.primary_payment_method,
    orders.payment_state,
    history.customer_order_number,
    history.days_since_previous_order,
    coalesce(history.customer_order_number = 1, false) as is_first_order,
    orders.updated_at
from orders
left join history on orders.order_id = history.order_id
