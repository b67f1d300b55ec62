with

source as (

    select * from {{ source('production', 'product') }}

),

renamed as (

    select
        cast(productid as {{ dbt.type_bigint() }}) as product_id,
        cast(name as {{ dbt.type_string() }}) as product_name,
        cast(productnumber as {{ dbt.type_string() }}) as product_number,
        cast(makeflag as {{ dbt.type_boolean() }}) as is_made_in_house,
        cast(finishedgoodsflag as {{ dbt.type_boolean() }}) as is_finished_good,
        cast(color as {{ dbt.type_string() }}) as color,
        cast(safetystocklevel as {{ dbt.type_bigint() }}) as safety_stock_level,
        cast(reorderpoint as {{ dbt.type_bigint() }}) as reorder_point,
        cast(standardcost as {{ money_type() }}) as standard_cost,
        cast(listprice as {{ money_type() }}) as list_price,
        cast(size as {{ dbt.type_string() }}) as size,
        -- char(n) codes in the source: drop the padding
        trim(cast(sizeunitmeasurecode as {{ dbt.type_string() }})) as size_unit_measure_code,
        trim(cast(weightunitmeasurecode as {{ dbt.type_string() }})) as weight_unit_measure_code,
        cast(weight as decimal(8, 2)) as weight,
        cast(daystomanufacture as {{ dbt.type_bigint() }}) as days_to_manufacture,
        trim(cast(productline as {{ dbt.type_string() }})) as product_line,
        trim(cast(class as {{ dbt.type_string() }})) as product_class,
        trim(cast(style as {{ dbt.type_string() }})) as product_style,
        cast(productsubcategoryid as {{ dbt.type_bigint() }}) as product_subcategory_id,
        cast(productmodelid as {{ dbt.type_bigint() }}) as product_model_id,
        cast(sellstartdate as date) as sell_start_date,
        cast(sellenddate as date) as sell_end_date,
        cast(discontinueddate as date) as discontinued_date,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
